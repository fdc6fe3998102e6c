import Foundation
import HeraldAuth
import Testing
import Topics

@Suite struct TokenSignerTests {
    static let keys = try! AuthKeys(parsing: "\(TestTokens.firstKey)\n\(TestTokens.secondKey)\n")
    let now = TestTokens.now + 0.25

    @Test func mintedTokensVerify() throws {
        let subscribe = [try TopicPattern("prices.>"), try TopicPattern("payments.user-42")]
        let publish = [try TopicPattern("chat.*")]
        let token = TokenSigner.mintToken(keys: Self.keys, subscribe: subscribe, publish: publish, ttl: 900, subject: "user-42", now: now)
        let grants = try TokenVerifier.verify(token: token, keys: Self.keys, now: now).get()
        #expect(grants == Grants(subject: "user-42", subscribe: subscribe, publish: publish, expiresAt: 1_700_000_901))
        #expect(TokenVerifier.verify(token: token, keys: Self.keys, now: 1_700_000_901) == .failure(TokenError(.expired, "exp is past")))
    }

    @Test func signedWithTheFirstKeyAsAnyLibraryWould() throws {
        let token = TokenSigner.mintToken(keys: Self.keys, subscribe: [], publish: [], ttl: 60, subject: nil, now: now)
        let parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        try #require(parts.count == 3)
        #expect(parts[2] == TestTokens.base64url(TestTokens.mac(parts[0] + "." + parts[1], key: TestTokens.firstKey)))
        #expect(try decodedJSON(parts[0]) == ["alg": "HS256", "typ": "JWT"] as NSDictionary)
        let claims = try decodedJSON(parts[1])
        #expect(claims["iat"] as? Int == 1_700_000_000)
        #expect(claims["exp"] as? Int == 1_700_000_061)
        #expect(claims["sub"] == nil)
        let onlySecond = try AuthKeys(parsing: TestTokens.secondKey)
        #expect(TokenVerifier.verify(token: token, keys: onlySecond, now: now) == .failure(TokenError(.badSignature, "no key made this signature")))
    }

    @Test func ttlZeroMeansNoExpiry() throws {
        let token = TokenSigner.mintToken(keys: Self.keys, subscribe: [try TopicPattern(">")], publish: [], ttl: 0, subject: nil, now: now)
        #expect(try TokenVerifier.verify(token: token, keys: Self.keys, now: 4_000_000_000).get().expiresAt == nil)
        let parts = token.split(separator: ".").map(String.init)
        #expect(try decodedJSON(parts[1])["exp"] == nil)
    }

    @Test(arguments: ["user \"42\"", "line\nbreak\u{1}", "rené ✓", "back\\slash", ""])
    func subjectsRoundTrip(subject: String) throws {
        let token = TokenSigner.mintToken(keys: Self.keys, subscribe: [], publish: [], ttl: 60, subject: subject, now: now)
        #expect(try TokenVerifier.verify(token: token, keys: Self.keys, now: now).get().subject == subject)
    }

    func decodedJSON(_ part: String) throws -> NSDictionary {
        var base64 = part.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        let data = try #require(Data(base64Encoded: base64))
        return try #require(try JSONSerialization.jsonObject(with: data) as? NSDictionary)
    }
}
