/// The three parts of a compact JWS (RFC 7515 §7.1), decoded but not yet trusted.
struct CompactJWS {
    /// `header.payload` as sent: the bytes the signature covers.
    let signingInput: ArraySlice<UInt8>
    let header: [UInt8]
    let payload: [UInt8]
    let signature: [UInt8]

    init(_ token: [UInt8]) throws(TokenError) {
        let parts = token.split(separator: UInt8(ascii: "."), maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw TokenError(.malformed, "not three dot-separated parts") }
        guard let header = Base64URL.decode(parts[0]) else { throw TokenError(.malformed, "header is not base64url") }
        guard let payload = Base64URL.decode(parts[1]) else { throw TokenError(.malformed, "payload is not base64url") }
        guard let signature = Base64URL.decode(parts[2]) else { throw TokenError(.malformed, "signature is not base64url") }
        self.signingInput = token[..<parts[1].endIndex]
        self.header = header
        self.payload = payload
        self.signature = signature
    }
}
