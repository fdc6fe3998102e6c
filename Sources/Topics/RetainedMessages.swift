/// The last retained message of each topic (CONTRACT §3).
public struct RetainedMessages<Message: StoredMessage> {
    private var tree = TopicTree<Message>()

    public init() {}

    /// The number of topics holding a retained message.
    public var count: Int { tree.count }

    /// Makes `message` the retained message of `topic`, or clears it when the payload is
    /// empty.
    public mutating func record(_ message: Message, on topic: TopicName) {
        tree[topic] = message.payloadIsEmpty ? nil : message
    }

    public func message(on topic: TopicName) -> Message? { tree[topic] }

    /// The retained messages of every topic `pattern` matches, oldest first, so that a new
    /// subscriber sees them in the order they were published.
    public func messages(matching pattern: TopicPattern) -> [(topic: TopicName, message: Message)] {
        var found: [(topic: TopicName, message: Message)] = []
        tree.forEach(matching: pattern) { found.append(($0, $1)) }
        found.sort { $0.message.seq < $1.message.seq }
        return found
    }
}
