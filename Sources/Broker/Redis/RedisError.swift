/// Why a command or a connection failed. Error replies to ordinary commands are not among
/// these: they arrive as `RESPValue.error` so that callers can react to codes like NOSCRIPT.
public enum RedisError: Error, CustomStringConvertible {
    /// The socket closed (or broke) before the reply arrived; whether the command ran is
    /// unknown.
    case connectionClosed
    /// The server sent bytes that are not RESP, or a reply nobody asked for; the connection
    /// is closed, since nothing after it can be matched to a request any more.
    case protocolError(String)
    /// An error reply to a step of the connection handshake (HELLO, AUTH, SELECT).
    case server(String)
    /// Connecting and the handshake took longer than the connect timeout.
    case timeout

    public var description: String {
        switch self {
        case .connectionClosed: return "the connection to Redis closed"
        case .protocolError(let detail): return "Redis protocol error: \(detail)"
        case .server(let message): return "Redis refused the connection setup: \(message)"
        case .timeout: return "Redis did not answer in time"
        }
    }
}
