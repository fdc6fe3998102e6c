import HeapModule

/// Recent messages per topic, for subscribers that resume with `since` (PROTOCOL.md §3, §4.3),
/// bounded three ways (PROTOCOL.md §6): `capacityPerTopic` messages per topic, `maxBytes` of
/// payload across all topics (the oldest go first, whatever their topic), and `ttl`
/// without a publish, after which a topic's messages go and the topic is forgotten.
///
/// Every held message is also in one seq-ordered log: it is the FIFO the byte cap evicts
/// from in O(1), and what a resume on a wildcard reads a chunk at a time, in seq order.
/// Each topic remembers the highest seq it let go of, so a resume learns that it missed
/// something; a topic that lost everything is forgotten, and the highest seq forgotten so
/// is kept once for all (`forgottenThrough`).
public struct MessageHistory<Message: StoredMessage> {
    struct Ring {
        /// Held messages, oldest first from `head`; room before `head` is reclaimed when it
        /// passes half the array, so removing the oldest costs O(1) amortised.
        var slots: [Message] = []
        var head = 0
        /// The highest seq let go of; 0 when none.
        var evictedThrough: UInt64 = 0
        var lastPublish: UInt64 = 0
        /// The time this topic is filed under in `expiries`; an entry with another time is stale.
        var expiryKey: UInt64 = 0

        var count: Int { slots.count - head }
        var newestSeq: UInt64 { slots.last?.seq ?? evictedThrough }

        mutating func append(_ message: Message) {
            slots.append(message)
        }

        mutating func removeOldest() -> Message {
            let oldest = slots[head]
            evictedThrough = oldest.seq
            head += 1
            if head == slots.count {
                slots.removeAll(keepingCapacity: true)
                head = 0
            } else if head > 8 && head * 2 > slots.count {
                slots.removeFirst(head)
                head = 0
            }
            return oldest
        }
    }

    struct Expiry: Comparable {
        var at: UInt64
        var topic: TopicName
        static func < (lhs: Expiry, rhs: Expiry) -> Bool { lhs.at < rhs.at }
        static func == (lhs: Expiry, rhs: Expiry) -> Bool { lhs.at == rhs.at && lhs.topic == rhs.topic }
    }

    public let capacityPerTopic: Int
    public let maxBytes: Int
    /// Nanoseconds without a publish after which a topic's history goes; 0 keeps it.
    public let ttl: UInt64
    private var rings = TopicTree<Ring>()
    private var log = SeqLog<Message>()
    /// One entry per topic held, keyed by its last publish as of when it was filed: the TTL
    /// sweep looks only at topics whose time may have come (`expire`).
    private var expiries = Heap<Expiry>()
    /// Topics holding at least one message; kept so that STATS need not walk the tree.
    public private(set) var topicsHoldingMessages = 0
    /// Payload bytes held across all topics.
    public private(set) var payloadBytes = 0
    /// The highest seq of a topic forgotten altogether (or of any message with capacity 0):
    /// a resume from below it may have missed something it can no longer name.
    public private(set) var forgottenThrough: UInt64 = 0

    public init(capacityPerTopic: Int, maxBytes: Int = .max, ttl: UInt64 = 0) {
        precondition(capacityPerTopic >= 0, "history capacity cannot be negative")
        self.capacityPerTopic = capacityPerTopic
        self.maxBytes = maxBytes
        self.ttl = ttl
    }

    /// `now`: a monotonic time in nanoseconds, for the TTL.
    public mutating func append(_ message: Message, now: UInt64 = 0) {
        guard capacityPerTopic > 0, message.payloadByteCount <= maxBytes else {
            forgottenThrough = max(forgottenThrough, message.seq)
            return
        }
        let capacity = capacityPerTopic
        var created = false
        let evicted = rings.modify(
            message.topic,
            creating: {
                created = true; return Ring()
            }
        ) { ring -> Message? in
            ring.lastPublish = now
            if created { ring.expiryKey = now }
            ring.append(message)
            return ring.count > capacity ? ring.removeOldest() : nil
        }
        if created {
            topicsHoldingMessages += 1
            if ttl > 0 { expiries.insert(Expiry(at: now, topic: message.topic)) }
        }
        log.append(message)
        payloadBytes += message.payloadByteCount
        if let evicted {
            log.remove(seq: evicted.seq)
            payloadBytes -= evicted.payloadByteCount
        }
        while payloadBytes > maxBytes, let oldest = log.first { evictOldest(oldest) }
    }

    private mutating func evictOldest(_ oldest: Message) {
        log.remove(seq: oldest.seq)
        payloadBytes -= oldest.payloadByteCount
        let emptied = rings.modify(oldest.topic, creating: { Ring() }) { ring -> Bool in
            _ = ring.removeOldest()
            return ring.count == 0
        }
        if emptied { forget(oldest.topic, through: oldest.seq) }
    }

    private mutating func forget(_ topic: TopicName, through seq: UInt64) {
        rings[topic] = nil
        topicsHoldingMessages -= 1
        forgottenThrough = max(forgottenThrough, seq)
    }

    /// Drops the history of every topic without a publish for `ttl`; called by a periodic
    /// sweep, it looks only at topics filed as due.
    public mutating func expire(now: UInt64) {
        guard ttl > 0 else { return }
        while let due = expiries.min, due.at &+ ttl <= now {
            _ = expiries.removeMin()
            guard let ring = rings[due.topic], ring.expiryKey == due.at else { continue }  // stale entry
            if ring.lastPublish &+ ttl > now {
                rings.modify(due.topic, creating: { Ring() }) { $0.expiryKey = ring.lastPublish }
                expiries.insert(Expiry(at: ring.lastPublish, topic: due.topic))
                continue
            }
            for message in ring.slots[ring.head...] {
                log.remove(seq: message.seq)
                payloadBytes -= message.payloadByteCount
            }
            forget(due.topic, through: ring.newestSeq)
        }
    }

    /// Messages up to `seq` exist that this history never held (a backplane's gap): a
    /// resume from below it gets a null gap.
    public mutating func forget(through seq: UInt64) {
        forgottenThrough = max(forgottenThrough, seq)
    }

    /// Whether `topic` holds at least one message.
    public func holdsMessages(on topic: TopicName) -> Bool { (rings[topic]?.count ?? 0) > 0 }

    /// The highest seq `topic` has let go of; 0 when it lost nothing. A forgotten topic (and
    /// every topic with capacity 0) answers `forgottenThrough`: the broker cannot tell more.
    public func evictedThrough(on topic: TopicName) -> UInt64 {
        rings[topic]?.evictedThrough ?? forgottenThrough
    }

    /// Reads held messages with a seq in `from...through` in seq order, at most `limit`
    /// looked at (see `SeqLog.scan`); returns where to continue, nil when done.
    public func scan(from: UInt64, through: UInt64, limit: Int, _ body: (Message) -> Bool) -> UInt64? {
        log.scan(from: from, through: through, limit: limit, body)
    }
}
