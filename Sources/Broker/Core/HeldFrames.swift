import NIOCore
import Topics

/// Live frames that arrive while a connection's replay is under way, in seq order, to be
/// sent once it ends. A keep-latest topic's frame (PROTOCOL.md §11) replaces the one of its
/// topic still held, as the connection's backlog does, so that a replay paused by a jammed
/// client cannot pile up a price feed's ticks; and under `drop` the other topics' frames
/// go first.
package struct HeldFrames {
    package struct Entry {
        /// Empty once replaced or dropped: positions stay stable for `latest`.
        package var frame: ByteBuffer
        /// Set for a keep-latest topic's frame.
        package var topic: TopicName?
    }

    package private(set) var entries: [Entry] = []
    package private(set) var bytes = 0
    /// Frames still held.
    package private(set) var count = 0
    private var latest: [TopicName: Int] = [:]
    /// Every entry before it that is not keep-latest is gone: `dropOldest` starts here.
    private var firstDroppable = 0

    package init() {}

    /// Holds `frame`; returns 1 when it replaced an older frame of its keep-latest `topic`.
    package mutating func append(_ frame: ByteBuffer, latestOf topic: TopicName?) -> Int {
        var replaced = 0
        if let topic {
            if let position = latest[topic] {
                remove(at: position)
                replaced = 1
            }
            latest[topic] = entries.count
        }
        entries.append(Entry(frame: frame, topic: topic))
        bytes += frame.readableBytes
        count += 1
        return replaced
    }

    /// Drops the oldest frame of a topic that is not keep-latest, or when only keep-latest
    /// ones are left the oldest of those; false when nothing is held.
    package mutating func dropOldest() -> Bool {
        while firstDroppable < entries.count,
            entries[firstDroppable].topic != nil || entries[firstDroppable].frame.readableBytes == 0
        {
            firstDroppable += 1
        }
        if firstDroppable < entries.count {
            remove(at: firstDroppable)
            return true
        }
        guard let position = entries.firstIndex(where: { $0.frame.readableBytes > 0 }) else { return false }
        if let topic = entries[position].topic { latest[topic] = nil }
        remove(at: position)
        return true
    }

    private mutating func remove(at position: Int) {
        bytes -= entries[position].frame.readableBytes
        count -= 1
        entries[position].frame = ByteBuffer()
    }
}
