/// A bounded ring of recent messages per topic, for subscribers that resume with `since`
/// (CONTRACT §3, §4.3).
///
/// Besides the messages it still holds, each topic remembers the highest seq it has let
/// go, which is how a resume learns that it missed something it can no longer get.
public struct MessageHistory<Message: StoredMessage> {
    struct Ring {
        var slots: [Message] = []
        var oldest = 0
        /// The highest seq evicted (or never held, with capacity 0); 0 when none.
        var evictedThrough: UInt64 = 0

        mutating func append(_ message: Message, capacity: Int) {
            guard capacity > 0 else {
                evictedThrough = message.seq
                return
            }
            if slots.count < capacity {
                slots.append(message)
            } else {
                evictedThrough = slots[oldest].seq
                slots[oldest] = message
                oldest = (oldest + 1) % capacity
            }
        }

        /// Held messages, oldest first.
        var messages: [Message] { Array(slots[oldest...]) + slots[..<oldest] }
    }

    /// What a resume gets: the topics it lost messages on, then the messages in seq order.
    public struct Replay {
        public var gaps: [TopicName] = []
        public var messages: [(topic: TopicName, message: Message)] = []
    }

    public let capacityPerTopic: Int
    private var rings = TopicTree<Ring>()
    /// Topics holding at least one message; kept so that STATS need not walk the tree.
    public private(set) var topicsHoldingMessages = 0

    public init(capacityPerTopic: Int) {
        precondition(capacityPerTopic >= 0, "history capacity cannot be negative")
        self.capacityPerTopic = capacityPerTopic
    }

    public mutating func append(_ message: Message, on topic: TopicName) {
        let capacity = capacityPerTopic
        let startedHolding = rings.modify(topic, creating: { Ring() }) { ring in
            let wasEmpty = ring.slots.isEmpty
            ring.append(message, capacity: capacity)
            return wasEmpty && !ring.slots.isEmpty
        }
        if startedHolding { topicsHoldingMessages += 1 }
    }

    /// Whether `topic` holds at least one message.
    public func holdsMessages(on topic: TopicName) -> Bool { !(rings[topic]?.slots.isEmpty ?? true) }

    /// The messages of topics matching `pattern` with a seq above `since`, in seq order,
    /// and the topics whose ring no longer reaches back to `since`.
    public func replay(matching pattern: TopicPattern, since: UInt64) -> Replay {
        var replay = Replay()
        rings.forEach(matching: pattern) { topic, ring in
            if ring.evictedThrough > since { replay.gaps.append(topic) }
            for message in ring.messages where message.seq > since {
                replay.messages.append((topic, message))
            }
        }
        replay.gaps.sort { $0.string < $1.string }
        replay.messages.sort { $0.message.seq < $1.message.seq }
        return replay
    }
}
