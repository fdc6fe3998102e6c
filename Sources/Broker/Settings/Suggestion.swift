import HeraldCommandLine

/// The "did you mean" of an unknown option or key: typos of long option names are the
/// usual reason for one.
enum Suggestion {
    /// The declared name within two edits of `unknown` (written with dashes), if any.
    static func closestName(to unknown: String) -> String? {
        NearestName.among(SettingDeclaration.all.map(\.name), to: unknown)
    }
}
