import NIOCore
import NIOWebSocket

extension ConnectionStateMachine {
    /// What the handler does after an event.
    package enum Action: Equatable {
        case none
        /// Write the 101, then handle the frames that came early, in order.
        case sendHandshake(ByteBuffer, early: [WebSocketFrame])

        // Outbound.
        /// Write the frames now.
        case write
        /// Kept in the backlog: `dropped` old messages were discarded to make room,
        /// `conflated` keep-latest ones replaced.
        case queued(dropped: Int, conflated: Int)
        /// Over the limit with the `disconnect` policy: send 1008 and reset the connection;
        /// `dropped` messages were still queued.
        case disconnectSlowConsumer(dropped: Int)
        /// The channel stopped being writable: tell the core the connection lags.
        case markLagging
        /// The channel can take more (or a generation was written): drain, then read if
        /// `read` (a read was held only for writability).
        case resume(Drain, read: Bool)
        /// A paused replay may go on now.
        case continueReplay
        /// Shutdown: write what was queued, whatever the writability, then close with `code`.
        case shutdown(drained: [ByteBuffer], code: UInt16)

        // Inbound.
        case pong(ByteBuffer)
        /// A whole message; a compressed one still needs inflating (`messageInflated`).
        case message(text: Bool, payload: ByteBuffer, compressed: Bool)
        /// Send our close frame and half-close; the client's close or EOF ends it.
        case sendClose(code: UInt16, reason: String)
        /// The client started the close handshake: echo this close payload, then close TCP.
        case echoClose(code: UInt16?)
        /// The close handshake is complete (or the client misbehaves before its 101): close TCP.
        case closeConnection
        /// The connection is gone: `undelivered` queued messages count as dropped.
        case released(undelivered: Int)

        // Reads.
        case read
        case hold

        // Time.
        case ping
        /// The connection's token expired: close with 4001 (PROTOCOL.md §7).
        case tokenExpired
    }

    /// What a lagging connection does next, once it may write.
    package enum Drain: Equatable {
        case none
        /// Write these frames, flushing the last, and report `generationWritten` once it is
        /// on the socket.
        case generation([ByteBuffer])
        /// The backlog is empty: the connection keeps up again; a paused replay may go on.
        case caughtUp(continueReplay: Bool)
    }
}
