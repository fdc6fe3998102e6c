@testable import HeraldWire
import JSON
import NIOCore
import Testing

@Suite struct JSONTests {
    @Test(arguments: ["{}", "[]", "1", "-0.5e+3", "\"\\u00e9\\ud83d\\ude00\"", "true", " null ", "{\"a\":[1,{\"b\":null}]}"])
    func validJSON(text: String) throws {
        _ = try JSONParser.parse(text)
    }

    @Test(arguments: [
        "", "{", "[1,]", "{\"a\":1,}", "01", "1.", "-", "\"\\ud800\"", "\"\u{01}\"", "nul", "{} {}", "'a'",
        String(repeating: "[", count: 100) + String(repeating: "]", count: 100),
    ])
    func invalidJSON(text: String) {
        #expect(throws: JSONParser.Error.self) { try JSONParser.parse(text) }
    }

    @Test func compactRewritingKeepsNumbersAndEscapes() throws {
        let value = try JSONParser.parse("{ \"n\" : [1.50, -2e3], \"s\" : \"a\\\"b\\n\\u0001é\" }")
        var out = ByteBuffer()
        JSONWriter.write(value, into: &out)
        #expect(String(buffer: out) == "{\"n\":[1.50,-2e3],\"s\":\"a\\\"b\\n\\u0001é\"}")
    }

    @Test func requestsAndTheirErrors() {
        func code(_ text: String) -> String? {
            if case .failure(let failure) = ClientRequest.parse(ByteBuffer(string: text)).operation { return failure.code }
            return nil
        }
        #expect(code("{\"op\":\"ping\"}") == nil)
        #expect(code("{\"op\":\"subscribe\",\"topic\":\"a\",\"since\":5,\"epoch\":\"e\"}") == nil)
        #expect(code("{\"op\":\"subscribe\",\"topic\":\"a\",\"since\":1.5}") == "bad_request")
        #expect(code("{\"op\":\"publish\",\"topic\":\"a\",\"data\":{\"x\":1}}") == nil)
        #expect(code("{\"op\":\"publish\",\"topic\":\"a\",\"data\":1,\"encoding\":\"base64\"}") == "bad_request")
        #expect(code("{\"op\":\"nope\"}") == "unknown_op")
        #expect(code("nope") == "bad_request")
        let request = ClientRequest.parse(ByteBuffer(string: "{\"op\":\"ping\",\"id\":{\"k\":[1]}}"))
        #expect(request.id == .object([(key: "k", value: .array([.number("1")]))]))
    }

    @Test func replies() {
        #expect(String(buffer: ServerReply.ok(id: .number("1"), epoch: "e", seq: 7)) == "{\"op\":\"ok\",\"id\":1,\"epoch\":\"e\",\"seq\":7}")
        #expect(String(buffer: ServerReply.gap(topic: nil, since: 3)) == "{\"op\":\"gap\",\"topic\":null,\"since\":3}")
        #expect(String(buffer: ServerReply.pong(id: nil)) == "{\"op\":\"pong\"}")
    }
}
