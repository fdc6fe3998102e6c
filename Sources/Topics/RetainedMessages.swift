/// The last retained message of each topic (CONTRACT §3), by topic and in seq order, so
/// that a new subscription reads them a bounded chunk at a time, oldest first.
public struct RetainedMessages<Message: StoredMessage> {
    private var tree = TopicTree<Message>()
    private var log = SeqLog<Message>()

    public init() {}

    /// The number of topics holding a retained message.
    public var count: Int { tree.count }

    /// Makes `message` the retained message of its topic, or clears it when the payload is
    /// empty.
    public mutating func record(_ message: Message) {
        if let previous = tree[message.topic] { log.remove(seq: previous.seq) }
        if message.payloadIsEmpty {
            tree[message.topic] = nil
        } else {
            tree[message.topic] = message
            log.append(message)
        }
    }

    public func message(on topic: TopicName) -> Message? { tree[topic] }

    /// Reads retained messages with a seq in `from...through`, oldest first, at most
    /// `limit` looked at (see `SeqLog.scan`); returns where to continue, nil when done.
    public func scan(from: UInt64, through: UInt64, limit: Int, _ body: (Message) -> Bool) -> UInt64? {
        log.scan(from: from, through: through, limit: limit, body)
    }
}
