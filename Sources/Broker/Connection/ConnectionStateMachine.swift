import HeraldWire
import NIOCore

/// The rules of one subscriber connection after its handshake, as a pure value: when it may
/// read, what happens to frames that arrive before the 101 is out, the bounded backlog and
/// the slow-consumer policy, the close handshake, pings and the idle timeout. Every input is
/// an event method that returns an `Action`; the handler carries the action out and only
/// moves bytes, so every rule here is tested with no channel at all.
///
/// The connection's data lives in the `State` case it belongs to, so that combinations that
/// cannot happen (a backlog before the 101, a generation in flight on a connection that
/// keeps up) cannot be written either.
package struct ConnectionStateMachine {
    package enum SlowConsumerPolicy: Sendable {
        case disconnect
        case drop
    }

    package enum State {
        /// The core has not queued the 101 yet; frames that arrive early wait.
        case awaitingHandshake(AwaitingHandshake)
        /// Past the 101; `Flow` says whether the connection keeps up or lags.
        case open(OpenState, Flow)
        /// Our close frame is out, or the client's came: waiting for the end of TCP.
        case closing(ClosingState)
        case closed
        /// Only inside an event method, while a case's data is mutated in place: with the
        /// old value still in `state`, mutating a copy would copy the backlog's storage.
        case modifying
    }

    /// Frames a client may send before its 101 is out; past this it is closed.
    static let earlyFrameLimit = 16

    package internal(set) var state: State
    /// The read side, which the phases share: the core's turn and a held read.
    var reads = ReadGate()
    let backlogLimit: Int
    let policy: SlowConsumerPolicy

    package init(
        maxMessageBytes: Int, compressed: Bool, backlogLimit: Int, policy: SlowConsumerPolicy, now: NIODeadline,
        tokenExpiry: NIODeadline? = nil
    ) {
        self.state = .awaitingHandshake(
            AwaitingHandshake(
                assembler: MessageAssembler(maxMessageBytes: maxMessageBytes, compressionNegotiated: compressed),
                liveness: Liveness(lastInbound: now, lastPing: now, tokenExpiry: tokenExpiry)
            ))
        self.backlogLimit = max(backlogLimit, 1)
        self.policy = policy
    }

    package var isOpen: Bool {
        if case .open = state { return true }
        return false
    }

    /// The channel's writability as last reported: NIO reports crossing the high water
    /// mark synchronously from the write that crosses it, so this is never stale.
    package var isWritable: Bool {
        switch state {
        case .awaitingHandshake(let waiting): waiting.writable
        case .open(_, .live), .closed, .modifying: true
        case .open(_, .lagging(let lag)): lag.writable
        case .closing(let closing): closing.writable
        }
    }

    /// Open and keeping up: what the core sends is written at once.
    package var isLive: Bool {
        if case .open(_, .live) = state { return true }
        return false
    }
}
