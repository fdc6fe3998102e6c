import HeraldAuth
import Testing

/// Every forged or malformed token is refused, each with the reason its log line gives.
@Suite struct ForgedTokenTests {
    struct Forgery: Sendable, CustomTestStringConvertible {
        let name: String
        let token: String
        let reason: TokenError.Reason
        var testDescription: String { name }
    }

    static let keys = try! AuthKeys(parsing: "\(TestTokens.firstKey)\n\(TestTokens.secondKey)\n")
    static let valid = TestTokens.make(claims: TestTokens.validClaims)

    static func replacingSignature(of token: String, with signature: String) -> String {
        String(token[..<token.lastIndex(of: ".")!]) + "." + signature
    }

    static func signatureBytes(of token: String) -> [UInt8] {
        let input = String(token[..<token.lastIndex(of: ".")!])
        return TestTokens.mac(input, key: TestTokens.firstKey)
    }

    static func claims(_ json: String) -> String { TestTokens.make(claims: json) }

    static let forgeries: [Forgery] = {
        let t = TestTokens.self
        let parts = valid.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        var flipped = signatureBytes(of: valid)
        flipped[7] ^= 0x10
        // 32 bytes take 43 characters whose last 2 bits are unused: setting one keeps the bytes.
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        let lastValue = alphabet.firstIndex(of: parts[2].last!)!
        let noncanonical = String(parts[2].dropLast()) + String(alphabet[lastValue ^ 1])
        let paddedClaims = t.base64url(#"{"sub":"ab"}"#) + "="
        let standardAlphabet = "fn5+" + t.base64url(#"{"a":1}"#)  // "fn5+" is standard base64 of "~~~"
        return [
            Forgery(name: "alg none, no signature", token: t.base64url(#"{"alg":"none"}"#) + "." + parts[1] + ".", reason: .unsupportedAlgorithm),
            Forgery(name: "alg none, signed", token: t.make(header: #"{"alg":"none"}"#, claims: t.validClaims), reason: .unsupportedAlgorithm),
            Forgery(name: "alg HS512", token: t.make(header: #"{"alg":"HS512","typ":"JWT"}"#, claims: t.validClaims), reason: .unsupportedAlgorithm),
            Forgery(name: "alg hs256", token: t.make(header: #"{"alg":"hs256"}"#, claims: t.validClaims), reason: .unsupportedAlgorithm),
            Forgery(name: "alg RS256", token: t.make(header: #"{"alg":"RS256"}"#, claims: t.validClaims), reason: .unsupportedAlgorithm),
            Forgery(name: "alg missing", token: t.make(header: #"{"typ":"JWT"}"#, claims: t.validClaims), reason: .unsupportedAlgorithm),
            Forgery(name: "alg a number", token: t.make(header: #"{"alg":256}"#, claims: t.validClaims), reason: .unsupportedAlgorithm),
            Forgery(name: "typ a number", token: t.make(header: #"{"alg":"HS256","typ":1}"#, claims: t.validClaims), reason: .malformed),
            Forgery(name: "crit extension", token: t.make(header: #"{"alg":"HS256","crit":["b64"],"b64":false}"#, claims: t.validClaims), reason: .malformed),
            Forgery(name: "signed by another key", token: t.make(claims: t.validClaims, key: t.otherKey), reason: .badSignature),
            Forgery(name: "signature with one bit flipped", token: replacingSignature(of: valid, with: t.base64url(flipped)), reason: .badSignature),
            Forgery(
                name: "signature truncated by a byte", token: replacingSignature(of: valid, with: t.base64url(Array(signatureBytes(of: valid).dropLast()))),
                reason: .badSignature),
            Forgery(name: "signature empty", token: replacingSignature(of: valid, with: ""), reason: .badSignature),
            Forgery(
                name: "claims of another token under this signature", token: parts[0] + "." + t.base64url(#"{"subscribe":[">"]}"#) + "." + parts[2],
                reason: .badSignature),
            Forgery(name: "signature padded with =", token: valid + "=", reason: .malformed),
            Forgery(name: "claims padded with =, correctly signed", token: t.sign(encodedHeader: parts[0], encodedClaims: paddedClaims), reason: .malformed),
            Forgery(name: "standard base64 +, correctly signed", token: t.sign(encodedHeader: parts[0], encodedClaims: standardAlphabet), reason: .malformed),
            Forgery(name: "a space, correctly signed", token: t.sign(encodedHeader: parts[0], encodedClaims: " " + parts[1]), reason: .malformed),
            Forgery(name: "non-zero unused bits in the signature", token: replacingSignature(of: valid, with: noncanonical), reason: .malformed),
            Forgery(name: "signature of one character too few", token: String(valid.dropLast()), reason: .malformed),
            Forgery(name: "two parts", token: parts[0] + "." + parts[1], reason: .malformed),
            Forgery(name: "four parts", token: valid + "." + parts[2], reason: .malformed),
            Forgery(name: "empty", token: "", reason: .malformed),
            Forgery(name: "header not JSON", token: t.make(header: "HS256", claims: t.validClaims), reason: .malformed),
            Forgery(name: "header an array", token: t.make(header: #"["HS256"]"#, claims: t.validClaims), reason: .malformed),
            Forgery(name: "claims not JSON", token: claims("{subscribe: prices}"), reason: .malformed),
            Forgery(name: "claims an array", token: claims(#"[{"subscribe":[">"]}]"#), reason: .invalidClaims),
            Forgery(name: "claims a string", token: claims(#""prices.>""#), reason: .invalidClaims),
            Forgery(name: "subscribe a string", token: claims(#"{"subscribe":"prices.>"}"#), reason: .invalidClaims),
            Forgery(name: "subscribe null", token: claims(#"{"subscribe":null}"#), reason: .invalidClaims),
            Forgery(name: "subscribe holds a number", token: claims(#"{"subscribe":["a",1]}"#), reason: .invalidClaims),
            Forgery(name: "subscribe holds an invalid pattern", token: claims(#"{"subscribe":["prices.>.x"]}"#), reason: .invalidClaims),
            Forgery(name: "publish an object", token: claims(#"{"publish":{"prices.AAPL":true}}"#), reason: .invalidClaims),
            Forgery(name: "publish holds a non-ASCII pattern", token: claims(#"{"publish":["prix.€"]}"#), reason: .invalidClaims),
            Forgery(name: "sub a number", token: claims(#"{"sub":42}"#), reason: .invalidClaims),
            Forgery(name: "exp a string", token: claims(#"{"exp":"1700000060"}"#), reason: .invalidClaims),
            Forgery(name: "nbf a boolean", token: claims(#"{"nbf":true}"#), reason: .invalidClaims),
            Forgery(name: "exp past", token: claims(#"{"exp":1699999999}"#), reason: .expired),
            Forgery(name: "exp now", token: claims(#"{"exp":1700000000}"#), reason: .expired),
            Forgery(name: "exp half a second past", token: claims(#"{"exp":1699999999.5}"#), reason: .expired),
            Forgery(name: "exp negative", token: claims(#"{"exp":-1}"#), reason: .expired),
            Forgery(name: "nbf ahead", token: claims(#"{"nbf":1700000001}"#), reason: .notYetValid),
            Forgery(name: "nbf in exponent form ahead", token: claims(#"{"nbf":1.7000001e9}"#), reason: .notYetValid),
            Forgery(name: "too long", token: claims(#"{"sub":""# + String(repeating: "x", count: 9000) + #""}"#), reason: .malformed),
        ]
    }()

    @Test(arguments: forgeries)
    func refused(forgery: Forgery) {
        switch TokenVerifier.verify(token: forgery.token, keys: Self.keys, now: TestTokens.now) {
        case .success(let grants): Issue.record("accepted, granting \(grants)")
        case .failure(let error):
            #expect(error.reason == forgery.reason, "\(error)")
            #expect(!error.description.contains(forgery.token.prefix(20)) || forgery.token.isEmpty)
        }
    }

    /// The table's tokens differ from a valid one only where they say: unchanged, they pass.
    @Test func theUnforgedTokenPasses() {
        #expect(TokenVerifier.verify(token: Self.valid, keys: Self.keys, now: TestTokens.now).isSuccess)
        let parts = Self.valid.split(separator: ".").map(String.init)
        let resigned = TestTokens.sign(encodedHeader: parts[0], encodedClaims: parts[1])
        #expect(resigned == Self.valid)
    }
}

extension Result {
    var isSuccess: Bool {
        if case .success = self { true } else { false }
    }
}
