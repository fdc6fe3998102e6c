import NIOCore
import NIOHTTP1

/// Why a WebSocket connection could not be made or did not go on. Each description is one
/// line, since the CLI prints it as its error line (PROTOCOL.md §1).
package enum WebSocketClientError: Error, Equatable, CustomStringConvertible {
    case cannotConnect(host: String, port: Int, reason: String)
    /// The server answered the upgrade with another status; `body` is the start of its text.
    case refused(status: HTTPResponseStatus, body: String)
    case invalidHandshake(String)
    /// No answer to the upgrade in time.
    case handshakeTimedOut(TimeAmount)
    /// A receive waited longer than it was allowed to.
    case timedOut(TimeAmount)
    /// The server broke RFC 6455 or RFC 7692; the client sent close `code` and hung up.
    case protocolViolation(code: UInt16, reason: String)
    /// The connection ended without a close frame.
    case connectionLost
    /// `receive` was called while another receive was still waiting.
    case concurrentReceive

    package var description: String {
        switch self {
        case .cannotConnect(let host, let port, let reason):
            return "cannot connect to \(host):\(port): \(reason)"
        case .refused(let status, let body):
            let head = "the broker refused the WebSocket upgrade: \(status.code) \(status.reasonPhrase)"
            return body.isEmpty ? head : "\(head): \(body)"
        case .invalidHandshake(let reason):
            return "invalid WebSocket handshake: \(reason)"
        case .handshakeTimedOut(let timeout):
            return "the broker did not answer the WebSocket upgrade within \(Self.seconds(timeout))"
        case .timedOut(let timeout):
            return "no message from the broker within \(Self.seconds(timeout))"
        case .protocolViolation(let code, let reason):
            return "the broker broke the WebSocket protocol (closed with \(code)): \(reason)"
        case .connectionLost:
            return "the connection to the broker was lost"
        case .concurrentReceive:
            return "a receive is already waiting on this connection"
        }
    }

    private static func seconds(_ amount: TimeAmount) -> String {
        let seconds = Double(amount.nanoseconds) / 1e9
        return seconds == seconds.rounded() ? "\(Int(seconds)) s" : "\(seconds) s"
    }
}
