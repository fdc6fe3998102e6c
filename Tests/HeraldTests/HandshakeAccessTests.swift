import HeraldAuth
import HeraldCore
@testable import HeraldServer
import HeraldWire
import NIOHTTP1
import Testing
import Topics

/// PROTOCOL.md §7's handshake checks and their order, on requests alone.
@Suite struct HandshakeAccessTests {
    let keys = try! AuthKeys(parsing: "k1-0123456789abcdef0123456789abcdef\nk2-0123456789abcdef0123456789abcdef\n")
    let now = 1_800_000_000.0

    func token(subscribe: [String] = [], publish: [String] = [], ttl: Double = 60, keys: AuthKeys? = nil) -> String {
        TokenSigner.mintToken(
            keys: keys ?? self.keys, subscribe: subscribe.map { try! TopicPattern($0) },
            publish: publish.map { try! TopicPattern($0) }, ttl: ttl, subject: "user-1", now: now)
    }

    func policy(anonymous: [String] = [], origins: [String] = [], auth: Bool = true) -> AccessPolicy {
        AccessPolicy(
            keys: auth ? keys : nil, allowAnonymous: anonymous.map { try! TopicPattern($0) },
            origins: try! OriginAllowList(entries: origins))
    }

    func decide(_ path: String, _ route: HandshakeDecision.Route, headers: [(String, String)] = [], _ policy: AccessPolicy) -> HandshakeAccess.Verdict {
        HandshakeAccess.decide(route: route, uri: path, headers: HTTPHeaders(headers), policy: policy, now: now)
    }

    func status(_ verdict: HandshakeAccess.Verdict) -> UInt {
        switch verdict {
        case .allow: 101
        case .refuse(let status, _, _, _): status.code
        }
    }

    func raw(_ pattern: String) -> HandshakeDecision.Route { .raw(try! TopicPattern(pattern)) }

    @Test func originThenTokenThenPatternInThatOrder() {
        let strict = policy(origins: ["https://app.example.com"])
        let bad = [("Origin", "https://evil.example.net")]
        #expect(status(decide("/topics/a", raw("a"), headers: bad, strict)) == 403, "origin comes before the missing token")
        #expect(status(decide("/topics/a", raw("a"), strict)) == 401, "no Origin header: not affected")
        let narrow = token(subscribe: ["b"])
        #expect(status(decide("/topics/a?token=\(narrow)", raw("a"), headers: [("Origin", "https://app.example.com")], strict)) == 403)
        #expect(status(decide("/topics/b?token=\(narrow)", raw("b"), strict)) == 101)
    }

    @Test func unauthorizedCarriesTheBearerChallengeAndCounts() {
        guard case .refuse(.unauthorized, let headers, _, true) = decide("/ws", .json, policy()) else {
            Issue.record("/ws without a token and no --allow-anonymous must be 401")
            return
        }
        #expect(headers.contains { $0 == ("WWW-Authenticate", "Bearer") })
        guard case .refuse(.forbidden, _, _, false) = decide("/topics/a?token=\(token(subscribe: ["b"]))", raw("a"), policy()) else {
            Issue.record("a pattern the token does not grant is 403, not an auth failure")
            return
        }
    }

    @Test func theHeaderWinsOverTheQuery() {
        let good = token(subscribe: [">"])
        #expect(status(decide("/topics/a?token=garbage", raw("a"), headers: [("Authorization", "Bearer \(good)")], policy())) == 101)
        #expect(status(decide("/topics/a?token=\(good)", raw("a"), headers: [("Authorization", "Bearer garbage")], policy())) == 401)
        #expect(status(decide("/topics/a?x=1&token=\(good)", raw("a"), policy())) == 101)
    }

    @Test func anonymousRules() {
        let open = policy(anonymous: ["public.>"])
        #expect(status(decide("/topics/public.news", raw("public.news"), open)) == 101)
        #expect(status(decide("/topics/public.>", raw("public.>"), open)) == 101)
        #expect(status(decide("/topics/>", raw(">"), open)) == 401, "not covered by public.>")
        #expect(status(decide("/ws", .json, open)) == 101, "/ws is open when --allow-anonymous lists something")
        #expect(status(decide("/ws", .json, policy(auth: false))) == 101)
        #expect(status(decide("/topics/x?token=forged", raw("x"), policy(auth: false))) == 101, "without keys, tokens are not read")
    }

    @Test func everyInvalidTokenIs401() {
        let other = try! AuthKeys(parsing: "someone-else-0123456789abcdef0123456789")
        for bad in [token(subscribe: [">"], keys: other), token(subscribe: [">"], ttl: -5), "a.b", "", String(repeating: "a", count: 9000)] {
            #expect(status(decide("/ws?token=\(bad)", .json, policy(anonymous: [">"]))) == 401, "\(bad.prefix(20))")
        }
    }

    @Test func grantsDecideRawPatterns() {
        let holder = token(subscribe: ["prices.>"])
        for (pattern, allowed) in [("prices.AAPL", true), ("prices.*", true), ("prices.us.>", true), ("prices", false), (">", false)] {
            #expect(status(decide("/topics/x?token=\(holder)", raw(pattern), policy())) == (allowed ? 101 : 403), "\(pattern)")
        }
    }
}
