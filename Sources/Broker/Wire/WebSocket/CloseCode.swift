import NIOWebSocket

/// The close codes herald sends, taken from NIO's `WebSocketErrorCode` table (RFC 6455
/// §7.4.1), as the plain numbers the state machines compare; and the rule for the codes a
/// client may send.
package enum CloseCode {
    package static let normal = UInt16(webSocketErrorCode: .normalClosure)
    package static let goingAway = UInt16(webSocketErrorCode: .goingAway)
    package static let protocolError = UInt16(webSocketErrorCode: .protocolError)
    package static let invalidData = UInt16(webSocketErrorCode: .dataInconsistentWithMessage)
    package static let policyViolation = UInt16(webSocketErrorCode: .policyViolation)
    package static let tooBig = UInt16(webSocketErrorCode: .messageTooLarge)
    package static let internalError = UInt16(webSocketErrorCode: .unexpectedServerError)
    /// PROTOCOL.md §7: the connection's token expired.
    package static let tokenExpired: UInt16 = 4001
    /// The backplane lost messages this connection should have had (PROTOCOL.md §13): it is
    /// closed so that it reconnects and resumes.
    package static let serviceRestart: UInt16 = 1012
    /// A raw-mode client's publish was refused because the backplane is away (PROTOCOL.md §13).
    package static let tryAgainLater: UInt16 = 1013

    /// The reason sent with a close the broker starts on its own.
    package static func reason(for code: UInt16) -> String {
        switch code {
        case goingAway: "server shutting down"
        case tryAgainLater: "publish refused: the backplane is not reachable"
        default: "reconnect to resume"
        }
    }

    /// PROTOCOL.md §4.1: the codes a client may send and get echoed; anything else is 1002.
    package static func isEchoable(_ code: UInt16) -> Bool {
        (1000...1003).contains(code) || (1007...1011).contains(code) || (3000...4999).contains(code)
    }

    /// RFC 6455 §7.4 and the IANA registry: what a server may send, 1012-1014 included
    /// (1012 is how herald tells raw-mode clients to reconnect, PROTOCOL.md §13).
    package static func maySendFromServer(_ code: UInt16) -> Bool {
        isEchoable(code) || (1012...1014).contains(code)
    }
}
