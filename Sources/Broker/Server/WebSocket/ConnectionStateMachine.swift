import HeraldWire
import NIOCore
import Topics
import NIOWebSocket

/// The rules of one WebSocket connection after its handshake, as a pure value: when it may
/// read, what happens to frames that arrive before the 101 is out, the bounded backlog and
/// the slow-consumer policy, the close handshake, pings and the idle timeout. It returns
/// what to do; `WebSocketConnectionHandler` does it and only moves bytes, so every rule here
/// is tested with no channel at all.
package struct ConnectionStateMachine {
    package enum SlowConsumerPolicy: Sendable {
        case disconnect
        case drop
    }

    package enum Phase: Equatable {
        /// The core has not queued the 101 yet; frames that arrive early wait.
        case awaitingHandshake
        case open
        /// Our close frame is out; waiting for the client's, or for the close timer.
        case closing
        case closed
    }

    /// What to do with frames the core queued.
    package enum OutboundAction: Equatable {
        /// Write the frames now.
        case write
        /// Kept in the backlog (and `dropped` old messages were discarded to make room).
        case queued(dropped: Int)
        /// Over the limit with the `disconnect` policy: send 1008 and reset the connection;
        /// `dropped` messages were still queued.
        case disconnectSlowConsumer(dropped: Int)
        case ignore
    }

    /// What to do with a frame the client sent.
    package enum InboundAction: Equatable {
        case none
        case pong(ByteBuffer)
        /// A whole message; a compressed one still needs inflating (see `inflated`).
        case message(text: Bool, payload: ByteBuffer, compressed: Bool)
        /// Send our close frame and half-close; the client's close or EOF ends it.
        case fail(code: UInt16, reason: String)
        /// The client started the close handshake: echo this close payload, then close TCP.
        case echoClose(code: UInt16?)
        /// The close handshake is complete (or the client misbehaves before its 101): close TCP.
        case closeConnection
    }

    package enum SweepAction: Equatable {
        case none
        case ping
        case idleClose
        /// The connection's token expired: close with 4001 (PROTOCOL.md §7).
        case tokenExpired
    }

    /// Frames a client may send before its 101 is out; past this it is closed.
    static let earlyFrameLimit = 16

    package private(set) var phase = Phase.awaitingHandshake
    private var assembler: MessageAssembler
    private var early: [WebSocketFrame] = []
    private var backlog = FrameBacklog()
    private let backlogLimit: Int
    private let policy: SlowConsumerPolicy
    /// The channel's writability, from its events: NIO reports crossing the high water mark
    /// synchronously from the write that crosses it, so this is never stale.
    package var isWritable = true {
        didSet { if !isWritable { lagging = true } }
    }
    /// The connection fell behind (its channel stopped being writable): from then on what
    /// the core sends waits in the backlog, and goes out a generation at a time, the next
    /// only once the last is written to the socket. Frames handed to NIO can no longer be
    /// dropped or replaced, so this keeps a lagging connection's pending messages where the
    /// slow-consumer policy and keep-latest can still act on them (PROTOCOL.md §6, §11).
    package private(set) var lagging = false
    private var generationInFlight = false
    private var lastInbound: NIODeadline
    private var lastPing: NIODeadline
    /// When the connection's token expires; nil without a token or without `exp`.
    package var tokenExpiry: NIODeadline?
    /// The core paused a replay until this connection drains.
    private var replayWaiting = false

    package init(maxMessageBytes: Int, compressed: Bool, backlogLimit: Int, policy: SlowConsumerPolicy, now: NIODeadline) {
        self.assembler = MessageAssembler(maxMessageBytes: maxMessageBytes, compressionNegotiated: compressed)
        self.backlogLimit = max(backlogLimit, 1)
        self.policy = policy
        self.lastInbound = now
        self.lastPing = now
    }

    // MARK: Outbound

    /// The 101 is being written: the connection opens, and the frames that came early are
    /// returned to be handled now, in order.
    package mutating func handshakeSent() -> [WebSocketFrame] {
        guard phase == .awaitingHandshake else { return [] }
        phase = .open
        defer { early = [] }
        return early
    }

    /// `exempt`: a batch holding keep-latest messages that the core coalesced before it knew
    /// the connection was lagging; it waits without counting against the limit, since the
    /// core sends such messages one by one from then on (so there are few such batches).
    package mutating func framesQueued(_ frames: ByteBuffer, messages: Int, exempt: Bool = false) -> OutboundAction {
        guard phase == .open else { return .ignore }
        if !lagging && isWritable { return .write }
        backlog.append(frames, messages: messages, exempt: exempt)
        return enforceBacklogLimit()
    }

    /// A message of a `--keep-latest` topic (PROTOCOL.md §11): written at once when the
    /// connection keeps up; otherwise it replaces the one of its topic still waiting, if
    /// any (`conflated` 1).
    package mutating func latestQueued(_ frame: ByteBuffer, topic: TopicName) -> (action: OutboundAction, conflated: Int) {
        guard phase == .open else { return (.ignore, 0) }
        if !lagging && isWritable { return (.write, 0) }
        let conflated = backlog.appendLatest(frame, topic: topic)
        return (enforceBacklogLimit(), conflated)
    }

    private mutating func enforceBacklogLimit() -> OutboundAction {
        var dropped = 0
        while backlog.bytes - backlog.exemptBytes > backlogLimit {
            switch policy {
            case .disconnect:
                phase = .closing
                return .disconnectSlowConsumer(dropped: backlog.removeAll())
            case .drop:
                dropped += backlog.dropOldest()
            }
        }
        return .queued(dropped: dropped)
    }

    /// The core found the connection over its budget: the slow-consumer policy's
    /// `disconnect` (the core itself drops under `drop`).
    package mutating func overBudget() -> OutboundAction {
        guard phase == .open else { return .ignore }
        phase = .closing
        return .disconnectSlowConsumer(dropped: backlog.removeAll())
    }

    /// A replay chunk has been queued: true when the connection can take the next one now;
    /// otherwise `drainedForReplay` says when.
    package mutating func replayPaused() -> Bool {
        guard phase == .open else { return false }
        if isWritable && !lagging { return true }
        replayWaiting = true
        return false
    }

    /// After a drain: true once, when a paused replay may go on.
    package mutating func drainedForReplay() -> Bool {
        guard replayWaiting, phase == .open, isWritable, !lagging else { return false }
        replayWaiting = false
        return true
    }

    /// What a lagging connection writes next: the whole backlog, once the channel is
    /// writable and the previous generation written (`generationWritten`); empty when there
    /// is nothing to write now. An empty backlog then means it caught up.
    package mutating func nextGeneration() -> [ByteBuffer] {
        guard lagging, isWritable, !generationInFlight, phase == .open else { return [] }
        var frames: [ByteBuffer] = []
        while let next = backlog.popFirst() { frames.append(next) }
        if frames.isEmpty {
            lagging = false
        } else {
            generationInFlight = true
        }
        return frames
    }

    /// The last frame of the generation reached the socket.
    package mutating func generationWritten() {
        generationInFlight = false
    }

    /// Shutdown: everything queued goes out before the close, whatever the writability.
    package mutating func drainForShutdown() -> [ByteBuffer] {
        guard phase == .open else { return [] }
        var frames: [ByteBuffer] = []
        while let next = backlog.popFirst() { frames.append(next) }
        return frames
    }

    /// We are sending a close frame: true when one should go out (only once, only if open).
    package mutating func closeInitiated() -> Bool {
        guard phase == .open else { return false }
        phase = .closing
        return true
    }

    /// The connection is gone; returns the messages it still had queued.
    package mutating func closed() -> Int {
        phase = .closed
        early = []
        return backlog.removeAll()
    }

    // MARK: Inbound

    package mutating func frameReceived(_ frame: WebSocketFrame, now: NIODeadline) -> InboundAction {
        lastInbound = now
        switch phase {
        case .awaitingHandshake:
            guard early.count < Self.earlyFrameLimit else { return .closeConnection }
            early.append(frame)
            return .none
        case .closing:
            // Close frames have now gone both ways: RFC 6455 §7.1.1 wants TCP closed at once.
            return frame.opcode == .connectionClose ? .closeConnection : .none
        case .closed:
            return .none
        case .open:
            break
        }
        switch assembler.receive(frame) {
        case .none: return .none
        case .ping(let payload): return .pong(payload)
        case .message(let text, let payload, let compressed): return .message(text: text, payload: payload, compressed: compressed)
        case .fail(let code, let reason): return .fail(code: code, reason: reason)
        case .close(let code, _):
            phase = .closing
            return .echoClose(code: code)
        }
    }

    /// A compressed message after inflating: text must be valid UTF-8 now that it can be read.
    package func inflated(text: Bool, payload: ByteBuffer) -> InboundAction {
        if text && !UTF8Validation.isValid(payload) {
            return .fail(code: CloseCode.invalidData, reason: "text message is not valid UTF-8")
        }
        return .message(text: text, payload: payload, compressed: false)
    }

    // MARK: Time

    /// Called by the loop's sweep: an idle connection is closed, a quiet one pinged.
    package mutating func sweep(now: NIODeadline, idleTimeout: TimeAmount, pingInterval: TimeAmount) -> SweepAction {
        guard phase == .open else { return .none }
        if let tokenExpiry, now >= tokenExpiry { return .tokenExpired }
        if now - lastInbound >= idleTimeout { return .idleClose }
        if now - lastPing >= pingInterval {
            lastPing = now
            return .ping
        }
        return .none
    }
}
