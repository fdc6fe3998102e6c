/// Why a value was refused, worded to follow whoever gave it: the caller prefixes
/// `--history` or `herald.toml: 'history'` to make the one-line `SettingsError`.
struct Refusal: Error {
    /// E.g. `takes a whole number, not 'x'` or `must be 0 or more, not -1`.
    let predicate: String

    init(_ predicate: String) {
        self.predicate = predicate
    }
}
