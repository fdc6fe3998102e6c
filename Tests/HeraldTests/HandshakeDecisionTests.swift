@testable import HeraldWire
import Deflate
import NIOHTTP1
import Testing

@Suite struct HandshakeDecisionTests {
    let negotiator = DeflateNegotiator()

    func headers(upgrade: Bool = true, key: String? = "dGhlIHNhbXBsZSBub25jZQ==", version: String? = "13", extensions: String? = nil) -> HTTPHeaders {
        var headers = HTTPHeaders([("Host", "x")])
        if upgrade {
            headers.add(name: "Upgrade", value: "WebSocket")
            headers.add(name: "Connection", value: "keep-alive, Upgrade")
        }
        if let key { headers.add(name: "Sec-WebSocket-Key", value: key) }
        if let version { headers.add(name: "Sec-WebSocket-Version", value: version) }
        if let extensions { headers.add(name: "Sec-WebSocket-Extensions", value: extensions) }
        return headers
    }

    func status(_ decision: HandshakeDecision) -> UInt? {
        switch decision {
        case .health: 200
        case .reject(let status, _, _): status.code
        case .upgrade: 101
        case .publish, .metrics, .sse: nil
        }
    }

    @Test func rfc6455AcceptExample() {
        #expect(HandshakeDecision.acceptValue(for: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    @Test func routes() throws {
        let raw = HandshakeDecision.decide(method: .GET, uri: "/topics/prices.%3E?x=1", headers: headers(), negotiator: nil)
        #expect(raw == .upgrade(.raw(try .init("prices.>")), accept: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", deflate: nil))
        let json = HandshakeDecision.decide(method: .GET, uri: "/ws", headers: headers(extensions: "permessage-deflate"), negotiator: negotiator)
        guard case .upgrade(.json, _, let deflate?) = json else {
            Issue.record("expected a JSON upgrade with deflate, got \(json)")
            return
        }
        #expect(deflate.serverNoContextTakeover && deflate.clientNoContextTakeover)
        #expect(status(HandshakeDecision.decide(method: .GET, uri: "/healthz", headers: [:], negotiator: nil)) == 200)
    }

    /// Each request breaks two rules; the one checked first decides the status.
    @Test(arguments: [
        ("/nope", HTTPMethod.POST, false, nil as String?, "8" as String?, 404 as UInt),
        ("/topics/a..b", .POST, false, nil, "8", 400),
        ("/ws", .POST, false, nil, "8", 426),
        ("/ws", .POST, true, "dGhlIHNhbXBsZSBub25jZQ==", "8", 400),
        ("/ws", .GET, true, nil, "8", 400),
        ("/ws", .GET, true, "bm90IDE2IGJ5dGVz", "13", 400),
        ("/ws", .GET, true, "dGhlIHNhbXBsZSBub25jZQ==", "8", 426),
        ("/ws", .GET, true, "dGhlIHNhbXBsZSBub25jZQ==", nil, 426),
    ])
    func checksApplyInContractOrder(path: String, method: HTTPMethod, upgrade: Bool, key: String?, version: String?, expected: UInt) {
        let decision = HandshakeDecision.decide(method: method, uri: path, headers: headers(upgrade: upgrade, key: key, version: version), negotiator: nil)
        #expect(status(decision) == expected)
    }

    @Test func versionRefusalNamesVersion13() {
        let decision = HandshakeDecision.decide(method: .GET, uri: "/ws", headers: headers(version: "8"), negotiator: nil)
        guard case .reject(_, let extra, _) = decision else { return #expect(Bool(false)) }
        #expect(extra.contains { $0.0 == "Sec-WebSocket-Version" && $0.1 == "13" })
    }

    @Test func percentDecoding() {
        #expect(PercentDecoding.decode("prices.%3e") == "prices.>")
        #expect(PercentDecoding.decode("a%2") == nil)
        #expect(PercentDecoding.decode("a%zz") == nil)
        #expect(PercentDecoding.decode("%C3%A9") == "é")
        #expect(PercentDecoding.decode("%FF") == nil)
    }
}
