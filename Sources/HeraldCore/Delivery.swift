import NIOCore

/// What the core loop hands to a connection's loop.
package enum Delivery: Sendable {
    /// The 101 response: sent before anything else, and it opens the connection for reading.
    case handshake(ByteBuffer)
    /// Whole frames, ready for the wire: `messages` of them, for slow-consumer accounting.
    case frames(ByteBuffer, messages: Int)
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
