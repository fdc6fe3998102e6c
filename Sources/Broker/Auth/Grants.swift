import Topics

/// What a verified token allows its holder (PROTOCOL.md §7): its rights come from its claims
/// alone.
public struct Grants: Equatable, Sendable {
    /// `sub`, the holder's name in logs.
    public var subject: String?
    /// `subscribe`: patterns whose covered patterns the holder may subscribe to.
    public var subscribe: [TopicPattern]
    /// `publish`: patterns whose matching topics the holder may publish to.
    public var publish: [TopicPattern]
    /// `exp` in seconds since 1970, when the broker closes the connection with 4001.
    public var expiresAt: Double?

    public init(subject: String? = nil, subscribe: [TopicPattern] = [], publish: [TopicPattern] = [], expiresAt: Double? = nil) {
        self.subject = subject
        self.subscribe = subscribe
        self.publish = publish
        self.expiresAt = expiresAt
    }

    /// Whether a granted `publish` pattern matches `topic`.
    public func mayPublish(to topic: TopicName) -> Bool {
        publish.contains { $0.matches(topic) }
    }

    /// Whether a granted `subscribe` pattern covers `pattern`: every topic it matches, the
    /// grant matches too.
    public func maySubscribe(to pattern: TopicPattern) -> Bool {
        subscribe.contains { $0.covers(pattern) }
    }

    /// Whether the token has expired at `now` (seconds since 1970): `exp` is now or past.
    public func isExpired(at now: Double) -> Bool {
        expiresAt.map { $0 <= now } ?? false
    }
}
