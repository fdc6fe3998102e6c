import HeraldCommandLine

extension Settings {
    /// Every option of `herald serve` with its help and default, for `herald serve --help`:
    /// `--config`, then a section per group, as the packaged `herald.toml` has them, laid out
    /// like the options of the other subcommands.
    public static var helpText: String {
        let defaults = Settings()
        let config = HelpTable([("--config FILE", "A TOML file of these settings, keys named like the options; flags win over it. Read again on SIGHUP.")])
        let groups = SettingDeclaration.groups.map { group in
            let rows = group.settings.map { declaration in
                let usage =
                    switch declaration.form {
                    case .flag: "--[no-]\(declaration.name)"
                    case .single, .repeatable: "--\(declaration.name) \(declaration.placeholder)"
                    }
                let reload = declaration.reloadable ? " Applied on SIGHUP." : ""
                return (usage, "\(declaration.help) Default: \(declaration.defaultNote ?? declaration.describe(defaults)).\(reload)")
            }
            return group.title.uppercased() + ":\n" + HelpTable(rows).text
        }
        return ([config.text] + groups).joined(separator: "\n\n")
    }

    /// Every option's name and value in force, in declaration order, for the start-up log.
    public var summary: [(name: String, value: String)] {
        SettingDeclaration.all.map { ($0.name, $0.describe(self)) }
    }

    /// The declared option names (without dashes), also the config keys.
    public static var optionNames: [String] {
        SettingDeclaration.all.map(\.name)
    }
}
