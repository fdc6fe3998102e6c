import NIOCore
import NIOWebSocket

/// One whole WebSocket data message: what the client sends, and what it hands to its
/// reader once fragments are joined and the payload inflated.
package struct WebSocketMessage: Sendable, Equatable {
    /// `.text` or `.binary`.
    package var opcode: WebSocketOpcode
    package var payload: ByteBuffer

    package init(_ opcode: WebSocketOpcode, _ payload: ByteBuffer) {
        self.opcode = opcode
        self.payload = payload
    }

    package static func text(_ string: String) -> WebSocketMessage {
        WebSocketMessage(.text, ByteBuffer(string: string))
    }

    /// The payload as text; binary payloads that are not UTF-8 come out repaired.
    package var string: String { String(buffer: payload) }
}

/// What the peer's close frame said (RFC 6455 §7.1.5): no code when its payload was empty.
package struct WebSocketCloseStatus: Sendable, Equatable, CustomStringConvertible {
    package var code: UInt16?
    package var reason: String

    package init(code: UInt16?, reason: String) {
        self.code = code
        self.reason = reason
    }

    package var description: String {
        guard let code else { return "no status code" }
        return reason.isEmpty ? "\(code)" : "\(code) \(reason)"
    }
}
