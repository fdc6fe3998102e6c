@testable import HeraldServer
import HeraldWire
import NIOCore
import NIOHTTP1
import Testing

/// PROTOCOL.md §9 and §12, decided on requests alone: which protocol a Unix-socket connection
/// speaks, the HTTP routes and their refusals, the body limit, and `Last-Event-ID`.
@Suite struct PublishingEndpointTests {
    func sniff(_ text: String) -> PublisherProtocolSniffer.Speech? { PublisherProtocolSniffer.sniff(ByteBuffer(string: text)) }

    @Test func theFirstWordTellsTheProtocols() {
        #expect(sniff("PUB a 1\r\n") == .lineProtocol)
        #expect(sniff("PING\r\n") == .lineProtocol)
        #expect(sniff("STATS\n") == .lineProtocol)
        #expect(sniff("POST /publish/a HTTP/1.1\r\n") == .http)
        #expect(sniff("GET /stats HTTP/1.1\r\n") == .http)
        #expect(sniff("PU") == nil, "undecided until the word ends")
        #expect(sniff("P") == nil)
        #expect(sniff("hello world\r\n") == .lineProtocol, "not a method: the line protocol refuses it")
        #expect(sniff("\r\n") == .lineProtocol)
        #expect(sniff(String(repeating: "X", count: 40)) == .lineProtocol)
    }

    func status(_ method: HTTPMethod, _ uri: String) -> UInt? {
        if case .refuse(let answer) = PublishHTTPRequest.route(method: method, uri: uri) { return answer.status.code }
        return nil
    }

    @Test func routesAndRefusals() {
        guard case .publish(let topic, let retain) = PublishHTTPRequest.route(method: .POST, uri: "/publish/prices.AAPL?retain=true") else {
            Issue.record("not a publish")
            return
        }
        #expect(topic.string == "prices.AAPL" && retain)
        guard case .publish(_, let notRetained) = PublishHTTPRequest.route(method: .POST, uri: "/publish/a?retain=false") else {
            Issue.record("retain=false is not a publish")
            return
        }
        #expect(!notRetained)
        #expect(status(.POST, "/publish/prices.%3E") == 400)
        #expect(status(.POST, "/publish/") == 400)
        #expect(status(.GET, "/publish/a") == 405)
        #expect(status(.POST, "/stats") == 405)
        #expect(status(.GET, "/nope") == 404)
        #expect(status(.GET, "/stats") == nil && status(.HEAD, "/healthz") == nil && status(.GET, "/metrics") == nil)
    }

    @Test func aBodyOverTheLimitIsNotKept() {
        var request = PublishHTTPRequest(method: .POST, uri: "/publish/a", maxBodyBytes: 5)
        var chunk = ByteBuffer(string: "abc")
        request.receive(&chunk)
        #expect(request.body.map { String(buffer: $0) } == "abc")
        chunk = ByteBuffer(string: "def")
        request.receive(&chunk)
        #expect(request.body == nil)
        chunk = ByteBuffer(string: "g")
        request.receive(&chunk)
        #expect(request.body == nil, "once over, stays refused")
    }

    @Test func lastEventIDFromTheHeaderOrTheQuery() throws {
        #expect(try EventStreamResume.parse(header: nil, uri: "/sse/a").get() == nil)
        let fromHeader = try EventStreamResume.parse(header: "e1:42", uri: "/sse/a?last_event_id=e2:7").get()
        #expect(fromHeader?.epoch == "e1" && fromHeader?.seq == 42, "the header wins")
        let fromQuery = try EventStreamResume.parse(header: "", uri: "/sse/a?last_event_id=e2%3A7").get()
        #expect(fromQuery?.epoch == "e2" && fromQuery?.seq == 7)
        for bad in ["42", "e:", ":4", "e:x", "e:1:2", "e:-1"] {
            #expect(throws: EventStreamResume.Malformed.self, "\(bad)") { try EventStreamResume.parse(header: bad, uri: "/sse/a").get() }
            #expect(throws: EventStreamResume.Malformed.self, "\(bad)") {
                try EventStreamResume.parse(header: nil, uri: "/sse/a?last_event_id=\(bad)").get()
            }
        }
        #expect(try EventStreamResume.parse(header: "", uri: "/sse/a").get() == nil, "an empty header is a fresh start")
    }

    @Test func eventStreamPatterns() {
        #expect(HandshakeDecision.decide(method: .GET, uri: "/sse/prices.%3E", headers: [:], negotiator: nil) == .sse([try! .init("prices.>")]))
        #expect(
            HandshakeDecision.decide(method: .GET, uri: "/sse?topic=a&topic=b.*&topic=a", headers: [:], negotiator: nil)
                == .sse([try! .init("a"), try! .init("b.*")]))
        guard case .reject(let status, _, _) = HandshakeDecision.decide(method: .GET, uri: "/sse", headers: [:], negotiator: nil) else {
            Issue.record("accepted no pattern")
            return
        }
        #expect(status == .badRequest)
        guard case .reject(let bad, _, _) = HandshakeDecision.decide(method: .GET, uri: "/sse/a..b", headers: [:], negotiator: nil) else {
            Issue.record("accepted a bad pattern")
            return
        }
        #expect(bad == .badRequest)
    }
}
