import DequeModule
import NIOCore
import Topics

/// Frames a connection could not take yet, with the totals the slow-consumer policy reads.
/// Each entry is a batch of `messages` frames, so drops are counted in messages.
///
/// A keep-latest message (PROTOCOL.md §11) is an entry of its own, filed under its topic: a
/// newer one of the same topic empties the older entry in place and goes to the end, so the
/// backlog holds at most one per topic and stays in seq order. The map that finds them
/// exists only while such an entry is queued.
package struct FrameBacklog {
    struct Entry {
        var frames: ByteBuffer
        var messages: Int
        /// Set for a keep-latest message.
        var topic: TopicName?
        /// Not counted against the limit (`exemptBytes`).
        var exempt = false
    }

    /// A `Deque` rather than NIO's `CircularBuffer`: empty, it allocates nothing, and most
    /// connections never fall behind.
    private var entries = Deque<Entry>()
    /// Entries ever removed from the front: an entry's position is its index plus this.
    private var removedFromFront = 0
    private var latest: [TopicName: Int]?
    private(set) var bytes = 0
    private(set) var messages = 0
    /// Bytes of batches appended with `exempt`, within `bytes`.
    private(set) var exemptBytes = 0

    package var isEmpty: Bool { entries.isEmpty }

    package mutating func append(_ frames: ByteBuffer, messages count: Int, exempt: Bool = false) {
        entries.append(Entry(frames: frames, messages: count, exempt: exempt))
        bytes += frames.readableBytes
        if exempt { exemptBytes += frames.readableBytes }
        messages += count
    }

    /// Queues a keep-latest message; returns 1 when it replaced an older one of its topic.
    package mutating func appendLatest(_ frame: ByteBuffer, topic: TopicName) -> Int {
        var replaced = 0
        if let position = latest?[topic] {
            let index = position - removedFromFront
            bytes -= entries[index].frames.readableBytes
            messages -= entries[index].messages
            entries[index] = Entry(frames: ByteBuffer(), messages: 0)
            replaced = 1
        }
        if latest == nil { latest = [:] }
        latest![topic] = removedFromFront + entries.count
        entries.append(Entry(frames: frame, messages: 1, topic: topic))
        bytes += frame.readableBytes
        messages += 1
        return replaced
    }

    package mutating func popFirst() -> ByteBuffer? {
        while let entry = removeFirst() {
            if entry.messages > 0 { return entry.frames }
        }
        return nil
    }

    private mutating func removeFirst() -> Entry? {
        guard let entry = entries.popFirst() else { return nil }
        removedFromFront += 1
        bytes -= entry.frames.readableBytes
        if entry.exempt { exemptBytes -= entry.frames.readableBytes }
        messages -= entry.messages
        if let topic = entry.topic, latest?[topic] == removedFromFront - 1 { latest![topic] = nil }
        if entries.isEmpty { latest = nil }
        return entry
    }

    /// Drops the oldest entry that is not a keep-latest message (those are never dropped
    /// while newer ones replace them), or the oldest of all when only those are left;
    /// returns how many messages it held.
    package mutating func dropOldest() -> Int {
        guard let index = entries.firstIndex(where: { $0.topic == nil && $0.messages > 0 }) else {
            return removeFirst()?.messages ?? 0
        }
        let entry = entries[index]
        bytes -= entry.frames.readableBytes
        if entry.exempt { exemptBytes -= entry.frames.readableBytes }
        messages -= entry.messages
        entries[index] = Entry(frames: ByteBuffer(), messages: 0)
        while entries.first?.messages == 0, entries.first?.topic == nil { _ = removeFirst() }
        return entry.messages
    }

    /// Empties the backlog; returns how many messages it held.
    package mutating func removeAll() -> Int {
        let dropped = messages
        removedFromFront += entries.count
        entries.removeAll()
        latest = nil
        bytes = 0
        exemptBytes = 0
        messages = 0
        return dropped
    }
}
