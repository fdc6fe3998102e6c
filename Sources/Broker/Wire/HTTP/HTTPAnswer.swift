import JSON
import NIOCore
import NIOHTTP1

/// A complete HTTP answer of the publishing endpoints (PROTOCOL.md §9): status, headers, body.
package struct HTTPAnswer: Sendable {
    package var status: HTTPResponseStatus
    package var headers: [(String, String)]
    package var body: ByteBuffer

    package init(status: HTTPResponseStatus, headers: [(String, String)], body: ByteBuffer) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    package static func text(_ status: HTTPResponseStatus, _ text: String, headers: [(String, String)] = []) -> HTTPAnswer {
        HTTPAnswer(status: status, headers: [("Content-Type", "text/plain; charset=utf-8")] + headers, body: ByteBuffer(string: text))
    }

    package static func json(_ status: HTTPResponseStatus, _ json: String, headers: [(String, String)] = []) -> HTTPAnswer {
        HTTPAnswer(status: status, headers: [("Content-Type", "application/json")] + headers, body: ByteBuffer(string: json))
    }

    /// `{"error":"<code>","message":"…"}` with the codes of PROTOCOL.md §5.
    package static func error(_ status: HTTPResponseStatus, _ code: String, _ message: String, headers: [(String, String)] = []) -> HTTPAnswer {
        var json = ByteBuffer()
        json.writeStaticString("{\"error\":")
        JSONWriter.writeString(code, into: &json)
        json.writeStaticString(",\"message\":")
        JSONWriter.writeString(message, into: &json)
        json.writeStaticString("}")
        return HTTPAnswer(status: status, headers: [("Content-Type", "application/json")] + headers, body: json)
    }

    package static func metrics(_ text: String) -> HTTPAnswer {
        HTTPAnswer(status: .ok, headers: [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")], body: ByteBuffer(string: text))
    }

    /// The whole response as bytes, for the listener, which writes responses without an
    /// HTTP encoder (see `HTTPResponse`); it closes the connection after it.
    package func closingResponse() -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(128 + body.readableBytes)
        buffer.writeString("HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\n")
        for (name, value) in headers { buffer.writeString("\(name): \(value)\r\n") }
        buffer.writeString("Content-Length: \(body.readableBytes)\r\nConnection: close\r\n\r\n")
        buffer.writeImmutableBuffer(body)
        return buffer
    }
}
