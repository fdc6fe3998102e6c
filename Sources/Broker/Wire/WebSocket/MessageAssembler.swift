import NIOCore
import NIOWebSocket

/// The inbound half of RFC 6455 as a pure state machine: frames in, whole messages and
/// protocol verdicts out, for the broker (frames from clients) and for herald's own client
/// (frames from a server). It knows nothing of channels, so every rule is testable with
/// frames alone. Uncompressed text is checked for UTF-8 frame by frame, so an invalid
/// fragmented message fails at its first bad fragment; compressed text can only be checked
/// once inflated, by the caller.
package struct MessageAssembler {
    /// Who sends the frames: clients must mask theirs and servers must not (§5.1), and a
    /// server may close with 1012-1014, which a broker would not echo from a client.
    package enum Sender: Sendable {
        case client
        case server
    }

    package enum Event: Equatable {
        /// Nothing to act on yet (a fragment was buffered, or a pong arrived).
        case none
        /// A whole data message; `compressed` when RSV1 was set on its first frame.
        case message(text: Bool, payload: ByteBuffer, compressed: Bool)
        case ping(ByteBuffer)
        /// The peer's close frame: its code (nil for an empty close) and reason.
        case close(code: UInt16?, reason: String)
        /// Fail the connection with this close code.
        case fail(code: UInt16, reason: String)
    }

    private struct Fragments {
        var text: Bool
        var compressed: Bool
        var payload: ByteBuffer
    }

    private static let invalidText = Event.fail(code: CloseCode.invalidData, reason: "text message is not valid UTF-8")

    package let maxMessageBytes: Int
    package let compressionNegotiated: Bool
    private let sender: Sender
    private var fragments: Fragments?
    private var utf8 = UTF8StreamValidator()

    package init(maxMessageBytes: Int, compressionNegotiated: Bool, from sender: Sender = .client) {
        self.maxMessageBytes = maxMessageBytes
        self.compressionNegotiated = compressionNegotiated
        self.sender = sender
    }

    package mutating func receive(_ frame: WebSocketFrame) -> Event {
        guard (frame.maskKey != nil) == (sender == .client) else {
            return .fail(code: CloseCode.protocolError, reason: sender == .client ? "client frames must be masked" : "server frames must not be masked")
        }
        guard !frame.rsv2, !frame.rsv3 else { return .fail(code: CloseCode.protocolError, reason: "reserved bits set") }
        switch frame.opcode {
        case .text, .binary:
            guard fragments == nil else {
                return .fail(code: CloseCode.protocolError, reason: "new message inside a fragmented one")
            }
            if frame.rsv1 && !compressionNegotiated {
                return .fail(code: CloseCode.protocolError, reason: "RSV1 set without permessage-deflate")
            }
            let payload = frame.unmaskedData
            guard payload.readableBytes <= maxMessageBytes else {
                return .fail(code: CloseCode.tooBig, reason: "message exceeds \(maxMessageBytes) bytes")
            }
            let text = frame.opcode == .text
            if text && !frame.rsv1 {
                utf8 = UTF8StreamValidator()
                guard utf8.feed(payload), !frame.fin || utf8.isComplete else { return Self.invalidText }
            }
            if frame.fin { return .message(text: text, payload: payload, compressed: frame.rsv1) }
            fragments = Fragments(text: text, compressed: frame.rsv1, payload: payload)
            return .none
        case .continuation:
            guard var pending = fragments else {
                return .fail(code: CloseCode.protocolError, reason: "continuation frame without a message to continue")
            }
            guard !frame.rsv1 else { return .fail(code: CloseCode.protocolError, reason: "RSV1 set on a continuation frame") }
            var payload = frame.unmaskedData
            guard pending.payload.readableBytes + payload.readableBytes <= maxMessageBytes else {
                fragments = nil
                return .fail(code: CloseCode.tooBig, reason: "message exceeds \(maxMessageBytes) bytes")
            }
            fragments = nil  // let go of the stored copy so the append does not copy on write
            if pending.text && !pending.compressed {
                guard utf8.feed(payload), !frame.fin || utf8.isComplete else { return Self.invalidText }
            }
            pending.payload.writeBuffer(&payload)
            guard frame.fin else {
                fragments = pending
                return .none
            }
            return .message(text: pending.text, payload: pending.payload, compressed: pending.compressed)
        case .ping, .pong, .connectionClose:
            // NIO's decoder has already refused fragmented or long control frames.
            guard !frame.rsv1 else { return .fail(code: CloseCode.protocolError, reason: "RSV1 set on a control frame") }
            switch frame.opcode {
            case .ping: return .ping(frame.unmaskedData)
            case .pong: return .none
            default: return close(frame.unmaskedData)
            }
        default:
            return .fail(code: CloseCode.protocolError, reason: "unknown opcode")
        }
    }

    private func close(_ payload: ByteBuffer) -> Event {
        var payload = payload
        guard payload.readableBytes > 0 else { return .close(code: nil, reason: "") }
        guard let code = payload.readInteger(as: UInt16.self) else {
            return .fail(code: CloseCode.protocolError, reason: "close payload of one byte")
        }
        guard sender == .client ? CloseCode.isEchoable(code) : CloseCode.maySendFromServer(code) else {
            return .fail(code: CloseCode.protocolError, reason: "close code \(code) is not allowed")
        }
        guard UTF8Validation.isValid(payload) else {
            return .fail(code: CloseCode.invalidData, reason: "close reason is not UTF-8")
        }
        return .close(code: code, reason: String(buffer: payload))
    }
}
