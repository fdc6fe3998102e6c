/// How log records are written to standard error (`--log-format`, PROTOCOL.md §10).
public enum LogFormat: String, Sendable, CaseIterable {
    /// One human-readable line per record.
    case text
    /// One JSON object per line, for log collectors.
    case json
}
