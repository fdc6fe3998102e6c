import HeraldAuth
import Testing
import Topics

@Suite struct ValidTokenTests {
    static let keys = try! AuthKeys(parsing: "\(TestTokens.firstKey)\n\(TestTokens.secondKey)\n")

    func verify(_ claims: String, now: Double = TestTokens.now) -> Result<Grants, TokenError> {
        TokenVerifier.verify(token: TestTokens.make(claims: claims), keys: Self.keys, now: now)
    }

    @Test func claimsBecomeGrants() throws {
        let grants = try verify(TestTokens.validClaims).get()
        #expect(grants.subject == "user-42")
        #expect(grants.subscribe == [try TopicPattern("prices.>"), try TopicPattern("payments.user-42")])
        #expect(grants.publish == [try TopicPattern("chat.*")])
        #expect(grants.expiresAt == 1_700_000_060)
    }

    @Test func missingClaimsGrantNothing() throws {
        #expect(try verify("{}").get() == Grants())
        #expect(try verify(#"{"subscribe":[],"iss":"me","aud":["x"],"iat":"whenever"}"#).get() == Grants())
    }

    @Test func timesAtTheirEdges() throws {
        #expect(try verify(#"{"nbf":1700000000}"#).get() == Grants())
        #expect(try verify(#"{"exp":1700000000.5}"#).get().expiresAt == 1_700_000_000.5)
        #expect(try verify(#"{"exp":1.7e9}"#, now: 1_699_999_999).get().expiresAt == 1_700_000_000)
        // The same token, checked a second later, is expired: nothing is cached.
        let token = TestTokens.make(claims: #"{"exp":1700000001}"#)
        #expect(TokenVerifier.verify(token: token, keys: Self.keys, now: TestTokens.now).isSuccess)
        #expect(TokenVerifier.verify(token: token, keys: Self.keys, now: TestTokens.now + 1) == .failure(TokenError(.expired, "exp is past")))
    }

    @Test func headerExtrasAreIgnored() throws {
        let token = TestTokens.make(header: #"{"typ":"JWT","kid":"2024","alg":"HS256","x":[1,{"y":null}]}"#, claims: "{}")
        #expect(TokenVerifier.verify(token: token, keys: Self.keys, now: TestTokens.now).isSuccess)
    }

    @Test func escapedStringsAreDecoded() throws {
        let grants = try verify(#"{"sub":"ren\u00e9 \"r\"","subscribe":["prices\u002eAAPL"]}"#).get()
        #expect(grants.subject == "rené \"r\"")
        #expect(grants.subscribe == [try TopicPattern("prices.AAPL")])
    }

    @Test func theLongestTokenAllowedIsRead() throws {
        let padding = String(repeating: "x", count: 6000)
        let token = TestTokens.make(claims: #"{"sub":""# + padding + #""}"#)
        #expect(token.utf8.count <= TokenVerifier.maxTokenBytes)
        #expect(try TokenVerifier.verify(token: token, keys: Self.keys, now: TestTokens.now).get().subject == padding)
    }
}
