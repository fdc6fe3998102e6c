import NIOCore
import Topics

/// What a subscription still has to send before its live messages: the history after its
/// `since`, or the retained messages it matches, read a bounded chunk at a time as the
/// connection drains (PROTOCOL.md §6), and the live frames held back meanwhile so that they
/// follow in order. It exists only while a replay is under way.
package final class PendingReplay {
    package struct Cursor {
        enum Source {
            case history(reportsGaps: Bool)
            case retained
        }

        let pattern: TopicPattern
        let source: Source
        /// History: messages above this seq. Retained: 0.
        let since: UInt64
        /// The broker's seq when the subscription was made; what follows comes live.
        let through: UInt64
        /// This pattern's earlier coverage: what it matched above this seq went out already.
        let coveredAbove: UInt64?
        /// Where the scan continues.
        var next: UInt64 = 0
        /// History: the last seq sent per topic, to tell a gap from what went out.
        var lastSent: [TopicName: UInt64] = [:]
    }

    /// Replays in the order they were asked for; the first is the one being read.
    package var cursors: [Cursor] = []
    /// Live frames that arrived during the replay, sent once it ends.
    package var held = HeldFrames()

    init(_ cursor: Cursor) {
        cursors = [cursor]
    }
}

/// How much one turn of a replay may do, so that no request holds up publishing for others.
/// A chunk is at most a quarter of the connection's `--max-pending-bytes`: it reaches a
/// connection that has drained, where half the budget is the socket's and half the
/// backlog's, so a chunk never trips the slow-consumer policy by itself.
struct ReplayBudget {
    var bytes: Int
    var messages = 256

    init(maxPendingBytes: Int) {
        bytes = max(1, min(64 * 1024, maxPendingBytes / 4))
    }
    /// Entries looked at, matching or not.
    static let scanned = 4096

    var isSpent: Bool { bytes <= 0 || messages <= 0 }

    mutating func spend(_ frame: ByteBuffer) {
        bytes -= frame.readableBytes
        messages -= 1
    }
}
