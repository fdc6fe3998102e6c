/// Why a token was refused, for the log line of PROTOCOL.md §7. Neither field ever holds any
/// part of the token: `reason` is a fixed word and `detail` a fixed phrase.
public struct TokenError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Reason: String, Sendable {
        /// Not a compact JWS with a JSON header and payload.
        case malformed
        /// `alg` missing, not a string, or anything but `HS256` (`none` included).
        case unsupportedAlgorithm = "unsupported_alg"
        /// No key of the secret file made this signature.
        case badSignature = "bad_signature"
        /// A claim herald reads has the wrong type, or a pattern is invalid.
        case invalidClaims = "invalid_claims"
        /// `exp` is now or past.
        case expired
        /// `nbf` is still ahead.
        case notYetValid = "not_yet_valid"
    }

    public let reason: Reason
    public let detail: String

    public init(_ reason: Reason, _ detail: String) {
        self.reason = reason
        self.detail = detail
    }

    /// `reason: detail`, e.g. `invalid_claims: 'subscribe' is not an array`.
    public var description: String { "\(reason.rawValue): \(detail)" }
}
