/// The close codes herald sends (RFC 6455 §7.4.1) and the ones it echoes.
enum CloseCode {
    static let normal: UInt16 = 1000
    static let goingAway: UInt16 = 1001
    static let protocolError: UInt16 = 1002
    static let invalidData: UInt16 = 1007
    static let policyViolation: UInt16 = 1008
    static let tooBig: UInt16 = 1009

    /// CONTRACT §4.1: the codes a client may send and get echoed; anything else is 1002.
    static func isEchoable(_ code: UInt16) -> Bool {
        (1000...1003).contains(code) || (1007...1011).contains(code) || (3000...4999).contains(code)
    }
}
