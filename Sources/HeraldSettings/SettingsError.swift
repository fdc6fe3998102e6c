/// Why settings could not be read: always one line naming the option or config key, so
/// that `serve` can print it as is and scripts can grep it.
public struct SettingsError: Error, Equatable, Sendable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        // toml++ and strerror texts are not ours; a stray newline would break the one-line promise.
        self.description = description.split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}
