/// `herald serve`'s arguments read against the declarations, before any value is applied,
/// so that the config file they name can be read first and the flags still win over it.
struct CommandLineArguments {
    /// `--config FILE`: command line only.
    private(set) var configPath: String?
    /// The values given for each setting, in the order the settings first appear.
    private(set) var given: [(declaration: SettingDeclaration, texts: [String])] = []

    init(_ arguments: [String]) throws(SettingsError) {
        var remaining = arguments[...]
        while let argument = remaining.popFirst() {
            guard argument.hasPrefix("--"), argument.count > 2 else {
                throw SettingsError("unexpected argument '\(argument)': serve takes only options such as --listen HOST:PORT", origin: .commandLine)
            }
            let body = argument.dropFirst(2)
            let name = String(body.prefix { $0 != "=" })
            let inline = body.firstIndex(of: "=").map { String(body[body.index(after: $0)...]) }

            func value(placeholder: String) throws(SettingsError) -> String {
                if let inline { return inline }
                // An option's value never starts with `--`: that is the next option, and the value is missing.
                guard let next = remaining.first, !next.hasPrefix("--") else {
                    throw SettingsError("--\(name) needs a value: --\(name) \(placeholder)", origin: .commandLine)
                }
                return remaining.removeFirst()
            }

            if name == "config" {
                configPath = try value(placeholder: "FILE")
            } else if let declaration = SettingDeclaration.named[name] {
                record(declaration, try declaration.form == .flag ? inline ?? "true" : value(placeholder: declaration.placeholder))
            } else if name.hasPrefix("no-"), let declaration = SettingDeclaration.named[String(name.dropFirst(3))], declaration.form == .flag {
                guard inline == nil else { throw SettingsError("--\(name) takes no value", origin: .commandLine) }
                record(declaration, "false")
            } else {
                let hint = Suggestion.closestName(to: name).map { " (did you mean --\($0)?)" } ?? ""
                throw SettingsError("unknown option '--\(name)'\(hint)", origin: .commandLine)
            }
        }
    }

    private mutating func record(_ declaration: SettingDeclaration, _ text: String) {
        if let index = given.firstIndex(where: { $0.declaration.name == declaration.name }) {
            given[index].texts.append(text)
        } else {
            given.append((declaration, [text]))
        }
    }

    func apply(to settings: inout Settings) throws(SettingsError) {
        for (declaration, texts) in given {
            do {
                try declaration.setFromArguments(&settings, texts)
            } catch {
                throw SettingsError("--\(declaration.name) \(error.predicate)", origin: .commandLine)
            }
        }
    }
}
