/// A topic a message is published to, e.g. `prices.AAPL` (PROTOCOL.md §2). Never a pattern.
public struct TopicName: Hashable, Sendable, CustomStringConvertible {
    public let string: String

    public init(_ string: String) throws(TopicError) {
        _ = try TopicSyntax.segments(of: string, allowWildcards: false)
        self.string = string
    }

    init(validated string: String) {
        self.string = string
    }

    /// The dot-separated segments, as slices of `string`.
    public var segments: [Substring] { string.split(separator: ".", omittingEmptySubsequences: false) }

    public var description: String { string }
}
