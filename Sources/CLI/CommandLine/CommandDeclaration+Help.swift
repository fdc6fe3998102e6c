extension CommandDeclaration {
    /// `herald publish --help`: the usage line, the abstract, then the arguments and the
    /// options with their help; `defaults` supplies each option's default.
    public func help(program: String, defaults: Values) -> String {
        var sections = [usageLine(program: program), TextWrapping.paragraph(abstract)]
        if let discussion { sections.append(TextWrapping.paragraph(discussion)) }
        switch grammar {
        case .declared(let options, let arguments):
            if !arguments.isEmpty {
                sections.append("ARGUMENTS:\n" + HelpTable(arguments.map { ($0.name, $0.help) }).text)
            }
            let rows = options.map { option in
                (option.usage, option.help + (option.describeDefault(defaults).map { " Default: \($0)." } ?? ""))
            }
            sections.append("OPTIONS:\n" + HelpTable(rows + HelpTable.builtInRows).text)
        case .handedOn(_, _, let optionsHelp):
            // The handed-on help may go on with sections of its own (`serve`'s groups).
            sections.append("OPTIONS:\n" + HelpTable(HelpTable.builtInRows).text + "\n" + optionsHelp)
        }
        return sections.joined(separator: "\n\n")
    }

    /// `USAGE: herald token --secret-file FILE [--subscribe PATTERN]... [--ttl TEXT]`,
    /// wrapped under its first option when it is long.
    func usageLine(program: String) -> String {
        let prefix = "USAGE: \(program) \(name) "
        let words: [String]
        switch grammar {
        case .declared(let options, let arguments):
            words =
                options.map { option in
                    switch option.form {
                    case _ where option.isRequired: option.usage
                    case .flag, .single: "[\(option.usage)]"
                    case .repeatable: "[\(option.usage)]..."
                    }
                } + arguments.map(\.usage)
        case .handedOn(_, let usage, _):
            words = [usage]
        }
        return TextWrapping.lines(words, after: prefix, indent: prefix.count).joined(separator: "\n")
    }
}
