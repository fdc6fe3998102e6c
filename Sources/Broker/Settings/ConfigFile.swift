import TOML

/// `--config FILE` (PROTOCOL.md §10): TOML whose keys are the long option names, with dashes
/// or underscores. Errors name the file as given and the key as written in it, since
/// that is what the user will search the file for.
enum ConfigFile {
    static func apply(path: String, to settings: inout Settings) throws(SettingsError) {
        try apply(document: FileContents.read(path, purpose: "the config file"), path: path, to: &settings)
    }

    static func apply(text: String, path: String, to settings: inout Settings) throws(SettingsError) {
        try apply(document: Array(text.utf8), path: path, to: &settings)
    }

    /// Bytes, not a `String`: invalid UTF-8 is refused at its line and column, not repaired.
    private static func apply(document: [UInt8], path: String, to settings: inout Settings) throws(SettingsError) {
        let table: TOMLTable
        do throws(TOMLError) {
            table = try TOMLDocument.parse(document)
        } catch {
            throw SettingsError("\(path):\(error)")
        }

        var spellings: [String: String] = [:]
        for key in table.keys {
            let name = String(key.map { $0 == "_" ? "-" : $0 })
            guard let declaration = SettingDeclaration.named[name] else {
                if name == "config" { throw SettingsError("\(path): '\(key)' can only be given on the command line") }
                let hint = Suggestion.closestName(to: name).map { " (did you mean '\(spelled($0, like: key))'?)" } ?? ""
                throw SettingsError("\(path): unknown key '\(key)'\(hint)")
            }
            // Both spellings of one setting: refuse rather than let the later one win silently.
            if let other = spellings.updateValue(key, forKey: name) {
                throw SettingsError("\(path): '\(other)' and '\(key)' are the same setting")
            }
            do {
                try declaration.setFromTOML(&settings, table[key]!)
            } catch {
                throw SettingsError("\(path): '\(key)' \(error.predicate)")
            }
        }
    }

    /// A suggestion in the spelling the file already uses.
    private static func spelled(_ name: String, like key: String) -> String {
        key.contains("_") ? String(name.map { $0 == "-" ? "_" : $0 }) : name
    }
}
