extension Settings {
    /// The settings of `herald serve`: the defaults (with `HERALD_SOCKET`), then the config
    /// file named by `--config`, then the other flags, which win over the file. Every value
    /// is checked where it is read, so an error names the flag or the file and key.
    ///
    /// A reload (SIGHUP) calls this again with the same source: the file is read anew and
    /// the flags still win. Compare the result with `changes(from:)`.
    ///
    /// - Returns: the settings and the config file's path as given, if any.
    /// - Throws: `SettingsError`, one line naming the option or key, its `origin` saying
    ///   whether the command line or the configuration is wrong.
    public static func load(_ source: SettingsSource) throws(SettingsError) -> (settings: Settings, configPath: String?) {
        let arguments = try CommandLineArguments(source.arguments)
        var settings = Settings(environment: source.environment)
        if let path = arguments.configPath {
            try ConfigFile.apply(path: path, to: &settings)
        }
        try arguments.apply(to: &settings)
        do throws(SettingsError) {
            try settings.validate()
        } catch  where arguments.configPath == nil {
            // Without a file, every value that is not a default came from the command line.
            throw SettingsError(error.description, origin: .commandLine)
        }
        return (settings, arguments.configPath)
    }

    /// Checks every bound of the declarations, for settings built in code rather than loaded.
    ///
    /// - Throws: `SettingsError` naming the first option out of bounds, e.g.
    ///   `--max-line-bytes must be at least 64, not 10`.
    public func validate() throws(SettingsError) {
        for declaration in SettingDeclaration.all {
            if let refusal = declaration.check(self) {
                throw SettingsError("--\(declaration.name) \(refusal.predicate)")
            }
        }
        guard (tlsCert == nil) == (tlsKey == nil) else {
            throw SettingsError("--tls-cert and --tls-key go together: give both or neither")
        }
    }
}
