import HeraldWire
import NIOCore

/// Frames a connection could not take yet, with the totals the slow-consumer policy reads.
/// Each entry is a batch of `messages` frames, so drops are counted in messages.
package struct FrameBacklog {
    /// Capacity 1 to start: most connections never fall behind, and each slot costs memory.
    private var entries = CircularBuffer<(frames: ByteBuffer, messages: Int)>(initialCapacity: 1)
    private(set) var bytes = 0
    private(set) var messages = 0

    package var isEmpty: Bool { entries.isEmpty }

    package mutating func append(_ frames: ByteBuffer, messages count: Int) {
        entries.append((frames, count))
        bytes += frames.readableBytes
        messages += count
    }

    package mutating func popFirst() -> ByteBuffer? {
        guard let entry = entries.popFirst() else { return nil }
        bytes -= entry.frames.readableBytes
        messages -= entry.messages
        return entry.frames
    }

    /// Drops the oldest entry; returns how many messages it held.
    package mutating func dropOldest() -> Int {
        guard let entry = entries.popFirst() else { return 0 }
        bytes -= entry.frames.readableBytes
        messages -= entry.messages
        return entry.messages
    }

    /// Empties the backlog; returns how many messages it held.
    package mutating func removeAll() -> Int {
        let dropped = messages
        entries.removeAll()
        bytes = 0
        messages = 0
        return dropped
    }
}
