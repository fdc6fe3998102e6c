import NIOCore
import Topics

/// What the core loop hands to a connection's loop.
package enum Delivery: Sendable {
    /// One message of a `--keep-latest` topic, alone so that a lagging connection can
    /// replace it with a newer one of its topic (PROTOCOL.md §11).
    case latest(ByteBuffer, topic: TopicName, live: LiveMessages)
    /// The 101 response: sent before anything else, and it opens the connection for reading.
    case handshake(ByteBuffer)
    /// Whole frames, ready for the wire: `messages` of them, for slow-consumer accounting;
    /// `live` says which of them are fresh publishes, for the delivery-time histogram.
    case frames(ByteBuffer, messages: Int, live: LiveMessages = .none)
    /// Send what is queued, then close with this code (shutdown).
    case close(UInt16)
    /// A replay chunk ended: ask the core for the next one once the connection has drained.
    case replayPaused
    /// The core found the connection over its budget (live messages held during a replay).
    case slowConsumer
}

/// The core's view of a connection: something on its own event loop that takes what the
/// core queued for it. The server's WebSocket handler is one; tests use plain recorders,
/// which is what lets the core's rules be tested without sockets.
package protocol SubscriberConnection: AnyObject {
    /// Called on the connection's loop, in the order the core queued the deliveries.
    func deliver(_ delivery: Delivery)
}

/// The fresh publishes in a batch of frames and when the oldest of them was accepted
/// (uptime nanoseconds): what `herald_delivery_seconds` observes when the batch is written.
/// One stamp per batch, not per message, so that a batch costs one clock read however many
/// messages it carries; each of them is observed at the oldest one's age, an upper bound.
package struct LiveMessages: Sendable, Equatable {
    package var count: Int
    package var acceptedAt: UInt64
    /// The batch holds messages of `--keep-latest` topics, coalesced because the core did
    /// not yet know the connection was lagging: such a batch may wait beyond the
    /// connection's backlog limit, since the core sends them one by one from then on.
    package var includesKeepLatest = false

    package static let none = LiveMessages(count: 0, acceptedAt: 0)

    package init(count: Int, acceptedAt: UInt64, includesKeepLatest: Bool = false) {
        self.count = count
        self.acceptedAt = acceptedAt
        self.includesKeepLatest = includesKeepLatest
    }
}
