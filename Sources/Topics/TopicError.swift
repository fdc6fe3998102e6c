/// Why a string is not a valid topic name or pattern, worded for the person who typed it.
public struct TopicError: Error, Equatable, Sendable, CustomStringConvertible {
    public let input: String
    public let reason: String

    public init(input: String, reason: String) {
        self.input = input
        self.reason = reason
    }

    public var description: String { "invalid topic '\(input)': \(reason)" }
}
