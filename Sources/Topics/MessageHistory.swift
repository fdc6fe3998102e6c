/// A bounded ring of recent messages per topic, for subscribers that resume with `since`
/// (CONTRACT §3, §4.3), and the same messages in one seq-ordered log, so that a resume on a
/// wildcard reads them a bounded chunk at a time, in seq order, without sorting.
///
/// Besides the messages it still holds, each topic remembers the highest seq it has let
/// go, which is how a resume learns that it missed something it can no longer get.
public struct MessageHistory<Message: StoredMessage> {
    struct Ring {
        var slots: [Message] = []
        var oldest = 0
        /// The highest seq evicted (or never held, with capacity 0); 0 when none.
        var evictedThrough: UInt64 = 0

        /// Returns the message that made room, if one did.
        mutating func append(_ message: Message, capacity: Int) -> Message? {
            guard capacity > 0 else {
                evictedThrough = message.seq
                return nil
            }
            guard slots.count == capacity else {
                slots.append(message)
                return nil
            }
            let evicted = slots[oldest]
            evictedThrough = evicted.seq
            slots[oldest] = message
            oldest = (oldest + 1) % capacity
            return evicted
        }
    }

    public let capacityPerTopic: Int
    private var rings = TopicTree<Ring>()
    private var log = SeqLog<Message>()
    /// Topics holding at least one message; kept so that STATS need not walk the tree.
    public private(set) var topicsHoldingMessages = 0

    public init(capacityPerTopic: Int) {
        precondition(capacityPerTopic >= 0, "history capacity cannot be negative")
        self.capacityPerTopic = capacityPerTopic
    }

    public mutating func append(_ message: Message) {
        let capacity = capacityPerTopic
        let (startedHolding, evicted) = rings.modify(message.topic, creating: { Ring() }) { ring in
            let wasEmpty = ring.slots.isEmpty
            let evicted = ring.append(message, capacity: capacity)
            return (wasEmpty && !ring.slots.isEmpty, evicted)
        }
        if startedHolding { topicsHoldingMessages += 1 }
        guard capacity > 0 else { return }
        log.append(message)
        if let evicted { log.remove(seq: evicted.seq) }
    }

    /// Whether `topic` holds at least one message.
    public func holdsMessages(on topic: TopicName) -> Bool { !(rings[topic]?.slots.isEmpty ?? true) }

    /// The highest seq `topic` has let go of; 0 when it lost nothing.
    public func evictedThrough(on topic: TopicName) -> UInt64 { rings[topic]?.evictedThrough ?? 0 }

    /// Reads held messages with a seq in `from...through` in seq order, at most `limit`
    /// looked at (see `SeqLog.scan`); returns where to continue, nil when done.
    public func scan(from: UInt64, through: UInt64, limit: Int, _ body: (Message) -> Bool) -> UInt64? {
        log.scan(from: from, through: through, limit: limit, body)
    }
}
