import Digest
import Foundation
import Foundation

/// Tokens made the way any JWT library would, with Crypto's HMAC and Foundation's base64,
/// so that the verifier is not checked against its own encoder.
enum TestTokens {
    static let now = 1_700_000_000.0
    static let firstKey = "first-key-0123456789abcdef-0123456789"
    static let secondKey = "second-key-0123456789abcdef-012345678"
    static let otherKey = "other-key-0123456789abcdef-0123456789"
    static let standardHeader = #"{"alg":"HS256","typ":"JWT"}"#

    static func base64url(_ text: String) -> String { base64url(Array(text.utf8)) }

    static func base64url(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func mac(_ signingInput: String, key: String) -> [UInt8] {
        HMACSHA256(key: Array(key.utf8)).authenticationCode(for: Array(signingInput.utf8))
    }

    /// A token of these encoded parts, signed over them as given.
    static func sign(encodedHeader: String, encodedClaims: String, key: String = firstKey) -> String {
        let input = encodedHeader + "." + encodedClaims
        return input + "." + base64url(mac(input, key: key))
    }

    static func make(header: String = standardHeader, claims: String, key: String = firstKey) -> String {
        sign(encodedHeader: base64url(header), encodedClaims: base64url(claims), key: key)
    }

    /// Valid at `now` with the test keys.
    static let validClaims = #"{"sub":"user-42","subscribe":["prices.>","payments.user-42"],"publish":["chat.*"],"exp":1700000060,"nbf":1699999940}"#
}
