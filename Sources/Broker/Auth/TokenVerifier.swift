/// Checks an HS256 JWT (PROTOCOL.md §7) synchronously, so that a handshake can be decided on
/// its event loop without a hop.
///
/// A token is refused when it is longer than `maxTokenBytes`, is not exactly three parts of
/// unpadded base64url (RFC 7515 §2; padding and other characters refused), has a header
/// that is not a JSON object with `alg` exactly `HS256` (a `typ` must be a string, a `crit`
/// is refused), has a signature that no key made, or has claims that are not an object or
/// whose `subscribe`, `publish`, `exp`, `nbf` or `sub` have the wrong type or hold an
/// invalid pattern. Claims are read only once the signature holds.
///
/// Expiry has no leeway: a token is expired when `exp <= now` (RFC 7519: "on or after")
/// and not yet valid when `nbf > now`, the rule `Grants.isExpired(at:)` gives the expiry
/// sweep too, so the handshake and the sweep never disagree about a token.
public enum TokenVerifier {
    /// Longer tokens are refused before any decoding or hashing.
    public static let maxTokenBytes = 8192

    /// The grants of `token` at `now` (seconds since 1970), or why it is refused.
    public static func verify(token: some StringProtocol, keys: AuthKeys, now: Double) -> Result<Grants, TokenError> {
        guard token.utf8.count <= maxTokenBytes else {
            return .failure(TokenError(.malformed, "longer than \(maxTokenBytes) bytes"))
        }
        return Result { () throws(TokenError) in try grants(of: Array(token.utf8), keys: keys, now: now) }
    }

    private static func grants(of token: [UInt8], keys: AuthKeys, now: Double) throws(TokenError) -> Grants {
        let jws = try CompactJWS(token)
        try TokenHeader.check(jws.header)
        let signed = keys.keys.contains { key in key.isValid(jws.signature, for: jws.signingInput) }
        guard signed else { throw TokenError(.badSignature, "no key made this signature") }
        return try TokenClaims.grants(from: jws.payload, now: now)
    }
}
