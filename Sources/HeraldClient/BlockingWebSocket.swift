import HeraldWire
import Deflate
import ExtrasBase64
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// A small blocking WebSocket client (RFC 6455 client side, permessage-deflate inbound)
/// for `herald subscribe`: one connection, read in a loop, nothing else to do meanwhile.
package final class BlockingWebSocket {
    package struct Message {
        package var text: Bool
        package var payload: [UInt8]
    }

    package let descriptor: Int32
    private var reader: SocketReader
    private var decompressor: MessageDecompressor?
    private var generator = SystemRandomNumberGenerator()

    package init(host: String, port: Int, path: String, offerCompression: Bool) throws {
        descriptor = try UnixSocket.connectTCP(host: host, port: port)
        reader = SocketReader(descriptor: descriptor)
        let key = Base64.encodeToString(bytes: (0..<16).map { _ in UInt8.random(in: 0...255) })
        var request = "GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        request += "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n"
        if offerCompression { request += "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" }
        request += "\r\n"
        try UnixSocket.writeAll(descriptor, Array(request.utf8))
        let status = try reader.readLine()
        var extensions: String?
        var accept: String?
        while true {
            let line = try reader.readLine()
            if line.isEmpty { break }
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingSpaces
            if name == "sec-websocket-extensions" { extensions = value }
            if name == "sec-websocket-accept" { accept = value }
        }
        guard status.hasPrefix("HTTP/1.1 101") else {
            close(descriptor)
            throw UnixSocket.Failure(description: "the broker refused the subscription: \(status)")
        }
        guard accept == HandshakeDecision.acceptValue(for: key) else {
            close(descriptor)
            throw UnixSocket.Failure(description: "the server's Sec-WebSocket-Accept is wrong")
        }
        if let extensions, extensions.lowercased().hasPrefix("permessage-deflate") {
            let keepsContext = !extensions.lowercased().contains("server_no_context_takeover")
            decompressor = try MessageDecompressor(windowBits: 15, noContextTakeover: !keepsContext)
        }
    }

    deinit { close(descriptor) }

    package func sendText(_ text: String) throws {
        try sendFrame(opcode: 0x1, payload: Array(text.utf8))
    }

    /// Client frames are masked with a fresh key each (RFC 6455 §5.3).
    package func sendFrame(opcode: UInt8, payload: [UInt8]) throws {
        var frame: [UInt8] = [0x80 | opcode]
        if payload.count < 126 {
            frame.append(0x80 | UInt8(payload.count))
        } else if payload.count <= 0xFFFF {
            frame.append(0x80 | 126)
            frame += [UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        } else {
            frame.append(0x80 | 127)
            frame += (0..<8).reversed().map { UInt8(truncatingIfNeeded: payload.count >> ($0 * 8)) }
        }
        let mask = (0..<4).map { _ in UInt8.random(in: 0...255, using: &generator) }
        frame += mask
        frame += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        try UnixSocket.writeAll(descriptor, frame)
    }

    /// The next data message; answers pings on the way. nil when the server closed.
    package func receive() throws -> Message? {
        var fragments: [UInt8] = []
        var messageOpcode: UInt8 = 0
        var compressed = false
        while true {
            let head = try reader.readBytes(2)
            let fin = head[0] & 0x80 != 0
            let opcode = head[0] & 0x0F
            var length = Int(head[1] & 0x7F)
            if length == 126 {
                length = try reader.readBytes(2).reduce(0) { $0 << 8 | Int($1) }
            } else if length == 127 {
                length = try reader.readBytes(8).reduce(0) { $0 << 8 | Int($1) }
            }
            let payload = try reader.readBytes(length)
            switch opcode {
            case 0x9:
                try sendFrame(opcode: 0xA, payload: payload)
                continue
            case 0xA:
                continue
            case 0x8:
                try? sendFrame(opcode: 0x8, payload: Array(payload.prefix(2)))
                return nil
            case 0x1, 0x2:
                messageOpcode = opcode
                compressed = head[0] & 0x40 != 0
                fragments = payload
            default:
                fragments += payload
            }
            guard fin else { continue }
            if compressed, let decompressor {
                fragments = try decompressor.decompress(fragments)
            }
            return Message(text: messageOpcode == 0x1, payload: fragments)
        }
    }
}
