extension CommandDeclaration {
    /// Reads the arguments that follow the subcommand's name into `defaults`.
    ///
    /// Options may come before, between or after the positional arguments; `--` ends them.
    /// An option's value is the next argument, or follows `=` in the same one.
    public func parse(_ arguments: [String], defaults: Values) throws(UsageError) -> Invocation<Values> {
        // `--help` wins over everything else on the line, a mistake included: it is what
        // someone who made one types next.
        let optionPart = arguments.prefix { $0 != "--" }
        if optionPart.contains(where: { $0 == "--help" || $0 == "-h" }) { return .help }
        if optionPart.contains("--version") { return .version }
        var values = defaults
        switch grammar {
        case .handedOn(let field, _, _):
            values[keyPath: field] = arguments
        case .declared(let options, let declaredArguments):
            let (given, positionals) = try Self.split(arguments, options: options)
            for option in options {
                if let texts = given[option.name] {
                    try option.set(&values, texts)
                } else if option.isRequired {
                    throw UsageError("missing option \(option.usage)")
                }
            }
            try Self.assign(positionals, to: declaredArguments, in: &values)
        }
        return .run(values)
    }

    /// The texts given for each option by name, and the positional arguments in order.
    private static func split(
        _ arguments: [String], options: [OptionDeclaration<Values>]
    ) throws(UsageError) -> (given: [String: [String]], positionals: [String]) {
        var given: [String: [String]] = [:]
        var positionals: [String] = []
        var remaining = arguments[...]
        while let argument = remaining.popFirst() {
            if argument == "--" {
                positionals += remaining
                break
            }
            guard argument.hasPrefix("-"), argument != "-", Double(argument) == nil else {
                positionals.append(argument)
                continue
            }
            let body = argument.dropFirst(2)
            let name = String(body.prefix { $0 != "=" })
            guard argument.hasPrefix("--"), let option = options.first(where: { $0.name == name }) else {
                let known = options.map(\.name) + ["help", "version"]
                let hint = argument.hasPrefix("--") ? NearestName.among(known, to: name).map { " (did you mean --\($0)?)" } ?? "" : ""
                throw UsageError("unknown option '\(argument.prefix { $0 != "=" })'\(hint)")
            }
            let inline = body.firstIndex(of: "=").map { String(body[body.index(after: $0)...]) }
            if option.form == .flag {
                guard inline == nil else { throw UsageError("--\(name) takes no value") }
                given[name, default: []].append("true")
            } else if let inline {
                given[name, default: []].append(inline)
            } else {
                // A value never starts with `--`: that is the next option, and the value is
                // missing. Anything else is a value, `-5` included.
                guard let next = remaining.first, !next.hasPrefix("--") else {
                    throw UsageError("--\(name) needs a value: \(option.usage)")
                }
                given[name, default: []].append(remaining.removeFirst())
            }
        }
        return (given, positionals)
    }

    private static func assign(
        _ positionals: [String], to arguments: [ArgumentDeclaration<Values>], in values: inout Values
    ) throws(UsageError) {
        var remaining = positionals[...]
        for argument in arguments {
            let taken: [String]
            switch argument.arity {
            case .one:
                guard let text = remaining.popFirst() else { throw UsageError("missing argument \(argument.name)") }
                taken = [text]
            case .optional:
                taken = remaining.popFirst().map { [$0] } ?? []
            case .oneOrMore:
                guard !remaining.isEmpty else { throw UsageError("missing argument \(argument.name)") }
                taken = Array(remaining)
                remaining = []
            }
            try argument.set(&values, taken)
        }
        if let extra = remaining.first { throw UsageError("unexpected argument '\(extra)'") }
    }
}
