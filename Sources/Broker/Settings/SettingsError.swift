/// Why settings could not be read: always one line naming the option or config key, so
/// that `serve` can print it as is and scripts can grep it.
public struct SettingsError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What was wrong: the command line is a usage error (`serve` exits 64), the config
    /// file and the files it names are not (exit 1).
    public enum Origin: Sendable {
        case commandLine
        case configuration
    }

    public let description: String
    public let origin: Origin

    public init(_ description: String, origin: Origin = .configuration) {
        // toml++ and strerror texts are not ours; a stray newline would break the one-line promise.
        self.description = description.split(whereSeparator: \.isNewline).joined(separator: " ")
        self.origin = origin
    }
}
