import JSON
import NIOCore
import Topics

/// Makes the tokens of `herald token` (PROTOCOL.md §1): HS256 with the first key of the file.
public enum TokenSigner {
    /// A compact JWT granting `subscribe` and `publish`, with `iat` = `now` and `exp` =
    /// `now + ttl` rounded up to whole seconds (no `exp` when `ttl` is 0; a negative `ttl`
    /// makes an expired token, so callers refuse one first), and `sub` when given.
    public static func mintToken(
        keys: AuthKeys, subscribe: [TopicPattern], publish: [TopicPattern], ttl: Double, subject: String?, now: Double
    ) -> String {
        var claims: [(String, String)] = []
        if let subject { claims.append(("sub", jsonString(subject))) }
        claims.append(("subscribe", "[" + subscribe.map { jsonString($0.string) }.joined(separator: ",") + "]"))
        claims.append(("publish", "[" + publish.map { jsonString($0.string) }.joined(separator: ",") + "]"))
        claims.append(("iat", String(Int64(now.rounded(.down)))))
        if ttl != 0 { claims.append(("exp", String(Int64((now + ttl).rounded(.up))))) }
        let payload = "{" + claims.map { "\(jsonString($0.0)):\($0.1)" }.joined(separator: ",") + "}"
        return sign(header: #"{"alg":"HS256","typ":"JWT"}"#.utf8, payload: payload.utf8, keys: keys)
    }

    /// A compact JWS of these exact header and payload bytes, signed with the first key.
    package static func sign(header: some Sequence<UInt8>, payload: some Sequence<UInt8>, keys: AuthKeys) -> String {
        let signingInput = Base64URL.encode(Array(header)) + "." + Base64URL.encode(Array(payload))
        let signature = keys.signingKey.authenticationCode(for: signingInput.utf8)
        return signingInput + "." + Base64URL.encode(Array(signature))
    }

    /// A JSON string literal, escaped as every JSON herald writes is.
    private static func jsonString(_ text: String) -> String {
        var buffer = ByteBuffer()
        JSONWriter.writeString(text, into: &buffer)
        return String(buffer: buffer)
    }
}
