import HeraldWire
import NIOCore
import NIOWebSocket

/// The inbound half of RFC 6455 for a client, as a pure state machine: server frames in,
/// whole messages and verdicts out, testable with frames alone.
///
/// HeraldWire's `MessageAssembler` is the server's: it requires masked frames, which a
/// client must refuse (§5.1), and it judges close codes by what a server echoes.
/// Compressed payloads come out as received; inflating them, and checking that inflated
/// text is UTF-8, is the caller's, which owns the zlib stream.
package struct ClientMessageAssembler {
    package enum Event: Equatable {
        /// Nothing to act on yet (a fragment was buffered, or a pong arrived).
        case none
        /// A whole data message; `compressed` when RSV1 was set on its first frame.
        case message(WebSocketMessage, compressed: Bool)
        case ping(ByteBuffer)
        case close(WebSocketCloseStatus)
        /// Fail the connection with this close code.
        case fail(code: UInt16, reason: String)
    }

    private struct Fragments {
        var kind: WebSocketMessage.Kind
        var compressed: Bool
        var payload: ByteBuffer
    }

    package let maxMessageBytes: Int
    package let compressionNegotiated: Bool
    private var fragments: Fragments?

    package init(maxMessageBytes: Int, compressionNegotiated: Bool) {
        self.maxMessageBytes = maxMessageBytes
        self.compressionNegotiated = compressionNegotiated
    }

    package mutating func receive(_ frame: WebSocketFrame) -> Event {
        guard frame.maskKey == nil else { return .fail(code: CloseCode.protocolError, reason: "server frames must not be masked") }
        guard !frame.rsv2, !frame.rsv3 else { return .fail(code: CloseCode.protocolError, reason: "reserved bits set") }
        switch frame.opcode {
        case .text, .binary:
            guard fragments == nil else {
                return .fail(code: CloseCode.protocolError, reason: "new message inside a fragmented one")
            }
            if frame.rsv1 && !compressionNegotiated {
                return .fail(code: CloseCode.protocolError, reason: "RSV1 set without permessage-deflate")
            }
            guard frame.data.readableBytes <= maxMessageBytes else { return tooBig }
            let kind: WebSocketMessage.Kind = frame.opcode == .text ? .text : .binary
            if frame.fin { return .message(WebSocketMessage(kind: kind, payload: frame.data), compressed: frame.rsv1) }
            fragments = Fragments(kind: kind, compressed: frame.rsv1, payload: frame.data)
            return .none
        case .continuation:
            guard var pending = fragments else {
                return .fail(code: CloseCode.protocolError, reason: "continuation frame without a message to continue")
            }
            guard !frame.rsv1 else { return .fail(code: CloseCode.protocolError, reason: "RSV1 set on a continuation frame") }
            guard pending.payload.readableBytes + frame.data.readableBytes <= maxMessageBytes else {
                fragments = nil
                return tooBig
            }
            fragments = nil  // let go of the stored copy so that the append does not copy on write
            var payload = frame.data
            pending.payload.writeBuffer(&payload)
            guard frame.fin else {
                fragments = pending
                return .none
            }
            return .message(WebSocketMessage(kind: pending.kind, payload: pending.payload), compressed: pending.compressed)
        case .ping:
            guard !frame.rsv1 else { return .fail(code: CloseCode.protocolError, reason: "RSV1 set on a control frame") }
            return .ping(frame.data)
        case .pong:
            guard !frame.rsv1 else { return .fail(code: CloseCode.protocolError, reason: "RSV1 set on a control frame") }
            return .none
        case .connectionClose:
            guard !frame.rsv1 else { return .fail(code: CloseCode.protocolError, reason: "RSV1 set on a control frame") }
            return Self.close(frame.data)
        default:
            return .fail(code: CloseCode.protocolError, reason: "unknown opcode \(frame.opcode)")
        }
    }

    private var tooBig: Event {
        .fail(code: CloseCode.tooBig, reason: "message exceeds \(maxMessageBytes) bytes")
    }

    private static func close(_ payload: ByteBuffer) -> Event {
        var payload = payload
        guard payload.readableBytes != 0 else { return .close(WebSocketCloseStatus(code: nil, reason: "")) }
        guard let code = payload.readInteger(as: UInt16.self) else {
            return .fail(code: CloseCode.protocolError, reason: "1-byte close payload")
        }
        guard isValidReceived(code) else { return .fail(code: CloseCode.protocolError, reason: "close code \(code) is not one to send") }
        guard UTF8Validation.isValid(payload) else { return .fail(code: CloseCode.invalidData, reason: "close reason is not UTF-8") }
        return .close(WebSocketCloseStatus(code: code, reason: String(buffer: payload)))
    }

    /// RFC 6455 §7.4 and the IANA registry: the codes an endpoint may put in a close frame.
    /// Wider than `CloseCode.isEchoable`, since a server may send 1012-1014 (1012 is how
    /// herald tells raw-mode clients to reconnect, CONTRACT §13).
    private static func isValidReceived(_ code: UInt16) -> Bool {
        (1000...1003).contains(code) || (1007...1014).contains(code) || (3000...4999).contains(code)
    }
}
