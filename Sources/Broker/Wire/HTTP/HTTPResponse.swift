import NIOCore
import NIOHTTP1

/// HTTP/1.1 responses written as bytes: the listener answers a handful of fixed responses,
/// and writing them directly leaves no HTTP encoder to remove at the upgrade.
package enum HTTPResponse {
    package static func make(
        _ status: HTTPResponseStatus, headers: [(String, String)] = [], body: String, keepAlive: Bool = false,
        allocator: ByteBufferAllocator
    ) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 128 + body.utf8.count)
        buffer.writeString("HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\n")
        for (name, value) in headers { buffer.writeString("\(name): \(value)\r\n") }
        buffer.writeString("Content-Type: text/plain; charset=utf-8\r\nContent-Length: \(body.utf8.count)\r\n")
        buffer.writeString(keepAlive ? "\r\n" : "Connection: close\r\n\r\n")
        buffer.writeString(body)
        return buffer
    }

    package static func switchingProtocols(accept: String, extensions: String?, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 192)
        buffer.writeString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: \(accept)\r\n")
        if let extensions { buffer.writeString("Sec-WebSocket-Extensions: \(extensions)\r\n") }
        buffer.writeString("\r\n")
        return buffer
    }
}
