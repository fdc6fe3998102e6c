import HeraldWire
import NIOCore
import NIOWebSocket

/// The handshake, the client's frames and the close handshake.
extension ConnectionStateMachine {
    /// The core queued the 101: it goes out and the connection opens, and the frames that
    /// came early are handed back to be handled now, in order.
    package mutating func handshakeQueued(_ response: ByteBuffer) -> Action {
        guard case .awaitingHandshake(let waiting) = state else { return .none }
        let open = OpenState(assembler: waiting.assembler, liveness: waiting.liveness)
        state = .open(open, waiting.writable ? .live : .lagging(Lagging()))
        return .sendHandshake(response, early: waiting.early)
    }

    package mutating func frameReceived(_ frame: WebSocketFrame, now: NIODeadline) -> Action {
        switch state {
        case .awaitingHandshake(var waiting):
            state = .modifying
            waiting.liveness.lastInbound = now
            defer { state = .awaitingHandshake(waiting) }
            guard waiting.early.count < Self.earlyFrameLimit else { return .closeConnection }
            waiting.early.append(frame)
            return .none
        case .open(var open, let flow):
            state = .modifying
            open.liveness.lastInbound = now
            let output = open.assembler.receive(frame)
            state = .open(open, flow)
            switch output {
            case .none: return .none
            case .ping(let payload): return .pong(payload)
            case .message(let text, let payload, let compressed): return .message(text: text, payload: payload, compressed: compressed)
            case .fail(let code, let reason): return closeRequested(code: code, reason: reason)
            case .close(let code, _):
                beginClosing()
                return .echoClose(code: code)
            }
        case .closing:
            // Close frames have now gone both ways: RFC 6455 §7.1.1 wants TCP closed at once.
            return frame.opcode == .connectionClose ? .closeConnection : .none
        case .closed:
            return .none
        case .modifying:
            preconditionFailure("re-entered while modifying")
        }
    }

    /// A compressed message after inflating: text must be valid UTF-8 now that it can be read.
    package mutating func messageInflated(text: Bool, payload: ByteBuffer) -> Action {
        if text && !UTF8Validation.isValid(payload) {
            return closeRequested(code: CloseCode.invalidData, reason: "text message is not valid UTF-8")
        }
        return .message(text: text, payload: payload, compressed: false)
    }

    /// A frame broke the protocol. Nothing more is parsed after it, so the client's close
    /// can never be seen: an open connection sends its close and half-closes, for the
    /// client's EOF to end it; any other just closes.
    package mutating func protocolViolated(_ error: any Error, maxFrameBytes: Int) -> Action {
        guard isOpen, let error = error as? NIOWebSocketError else { return .closeConnection }
        if error == .invalidFrameLength {
            return closeRequested(code: CloseCode.tooBig, reason: "frame exceeds \(maxFrameBytes) bytes")
        }
        return closeRequested(code: CloseCode.protocolError, reason: "invalid control frame")
    }

    /// We are closing with `code`: one close frame goes out, only once, only if open.
    package mutating func closeRequested(code: UInt16, reason: String) -> Action {
        guard isOpen else { return .none }
        beginClosing()
        return .sendClose(code: code, reason: reason)
    }

    /// Open → closing: what the backlog holds will never go out.
    mutating func beginClosing() {
        switch state {
        case .open(_, .live):
            state = .closing(ClosingState(writable: true, undelivered: 0))
        case .open(_, .lagging(let lag)):
            state = .closing(ClosingState(writable: lag.writable, undelivered: lag.backlog.messages))
        case .awaitingHandshake, .closing, .closed, .modifying:
            break
        }
    }

    /// The connection is gone (once): what it still had queued counts as dropped.
    package mutating func channelClosed() -> Action {
        let undelivered: Int
        switch state {
        case .closed:
            return .none
        case .awaitingHandshake, .open(_, .live):
            undelivered = 0
        case .open(_, .lagging(let lag)):
            undelivered = lag.backlog.messages
        case .closing(let closing):
            undelivered = closing.undelivered
        case .modifying:
            preconditionFailure("re-entered while modifying")
        }
        state = .closed
        return .released(undelivered: undelivered)
    }
}
