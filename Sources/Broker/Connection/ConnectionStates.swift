import HeraldWire
import NIOCore
import NIOWebSocket

/// The data of each `ConnectionStateMachine.State` case.
extension ConnectionStateMachine {
    package struct AwaitingHandshake {
        var assembler: MessageAssembler
        var liveness: Liveness
        var early: [WebSocketFrame] = []
        var writable = true
    }

    package struct OpenState {
        var assembler: MessageAssembler
        var liveness: Liveness
    }

    /// Whether an open connection keeps up with what the core sends.
    package enum Flow {
        /// Writable with nothing waiting: frames are written at once.
        case live
        /// The connection fell behind (its channel stopped being writable): from then on
        /// what the core sends waits in the backlog, and goes out a generation at a time,
        /// the next only once the last is written to the socket. Frames handed to NIO can
        /// no longer be dropped or replaced, so this keeps a lagging connection's pending
        /// messages where the slow-consumer policy and keep-latest can still act on them
        /// (PROTOCOL.md §6, §11). It ends when a generation finds the backlog empty.
        case lagging(Lagging)
    }

    package struct Lagging {
        var backlog = FrameBacklog()
        var writable = false
        var generationInFlight = false
        /// The core paused a replay until this connection drains.
        var replayWaiting = false
    }

    package struct ClosingState {
        var writable: Bool
        /// Messages still in the backlog when the close began: they never go out, and
        /// count as dropped when the connection ends.
        var undelivered: Int
    }

    /// The clocks the sweep reads.
    struct Liveness {
        var lastInbound: NIODeadline
        var lastPing: NIODeadline
        /// When the connection's token expires; nil without a token or without `exp`.
        var tokenExpiry: NIODeadline?
    }

    /// Whether NIO's read requests go through; independent of the phase.
    struct ReadGate {
        /// A batch of requests is with the core: one connection never has more than one
        /// waiting on the core loop (PROTOCOL.md §6).
        var coreBusy = false
        /// Received messages wait for the next batch: requests are handled a bounded number
        /// per trip to the core, and reads wait until all are.
        var pendingMessages = false
        /// A read NIO asked for while the gate was shut.
        var held = false
    }
}
