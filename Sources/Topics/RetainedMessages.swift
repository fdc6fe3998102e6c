/// The last retained message of each topic (PROTOCOL.md §3), by topic and in seq order, so
/// that a new subscription reads them a bounded chunk at a time, oldest first.
public struct RetainedMessages<Message: StoredMessage> {
    private var tree = TopicTree<Message>()
    private var log = SeqLog<Message>()

    /// Payload bytes past which a topic holding none may not start holding one (PROTOCOL.md §6).
    public let maxBytes: Int
    public private(set) var payloadBytes = 0

    public init(maxBytes: Int = .max) {
        self.maxBytes = maxBytes
    }

    /// The number of topics holding a retained message.
    public var count: Int { tree.count }

    /// Whether recording a retained message of `size` bytes on `topic` would be refused:
    /// only a new retained topic past the cap is; replacing and clearing always work.
    public func refuses(_ topic: TopicName, size: Int) -> Bool {
        size > 0 && payloadBytes + size > maxBytes && tree[topic] == nil
    }

    /// Makes `message` the retained message of its topic, or clears it when the payload is
    /// empty.
    public mutating func record(_ message: Message) {
        if let previous = tree[message.topic] {
            log.remove(seq: previous.seq)
            payloadBytes -= previous.payloadByteCount
        }
        if message.payloadIsEmpty {
            tree[message.topic] = nil
        } else {
            tree[message.topic] = message
            log.append(message)
            payloadBytes += message.payloadByteCount
        }
    }

    public func message(on topic: TopicName) -> Message? { tree[topic] }

    /// Reads retained messages with a seq in `from...through`, oldest first, at most
    /// `limit` looked at (see `SeqLog.scan`); returns where to continue, nil when done.
    public func scan(from: UInt64, through: UInt64, limit: Int, _ body: (Message) -> Bool) -> UInt64? {
        log.scan(from: from, through: through, limit: limit, body)
    }
}
