import HeraldWire
import NIOCore
import NIOWebSocket
import XCTest

/// The frame parser against NIO's own encoder: every frame survives any split of the bytes,
/// and each violation NIO's decoder rejects is rejected as soon as the header shows it.
final class ClientFrameParserTests: XCTestCase {
    private let key = WebSocketMaskingKey([1, 2, 3, 4])!

    private func encoded(_ frames: [WebSocketFrame]) -> ByteBuffer {
        var buffer = ByteBuffer()
        for frame in frames {
            buffer.writeBytes(FrameHeaderBytes.of(frame))
            var data = frame.data
            buffer.writeBuffer(&data)
        }
        return buffer
    }

    private func masked(_ opcode: WebSocketOpcode, _ bytes: [UInt8], fin: Bool = true, rsv1: Bool = false) -> WebSocketFrame {
        var data = ByteBuffer(bytes: bytes)
        data.webSocketMask(key)
        return WebSocketFrame(fin: fin, rsv1: rsv1, opcode: opcode, maskKey: key, data: data)
    }

    private func parseAll(_ bytes: ByteBuffer, chunk: Int, maxFrameSize: Int = 1 << 20) throws -> ([WebSocketFrame], ClientFrameParser) {
        var parser = ClientFrameParser(maxFrameSize: maxFrameSize)
        var frames: [WebSocketFrame] = []
        var rest = bytes
        while rest.readableBytes > 0 {
            let piece = rest.readSlice(length: min(chunk, rest.readableBytes))!
            try parser.parse(piece) { frames.append($0) }
        }
        return (frames, parser)
    }

    func testFramesSurviveEverySplit() throws {
        let sent = [
            masked(.text, Array("hello".utf8)),
            masked(.binary, Array(repeating: 7, count: 126)),  // 16-bit length
            masked(.ping, []),
            masked(.text, Array(repeating: 65, count: 70_000), fin: false, rsv1: true),  // 64-bit length
            masked(.continuation, Array("end".utf8)),
            WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(string: "unmasked")),
        ]
        let bytes = encoded(sent)
        for chunk in [1, 2, 3, 7, 13, 1000, bytes.readableBytes] {
            let (received, parser) = try parseAll(bytes, chunk: chunk)
            XCTAssertEqual(received.count, sent.count, "chunk \(chunk)")
            for (got, want) in zip(received, sent) {
                XCTAssertEqual(got.opcode, want.opcode)
                XCTAssertEqual(got.fin, want.fin)
                XCTAssertEqual(got.rsv1, want.rsv1)
                XCTAssertEqual(got.maskKey, want.maskKey)
                XCTAssertEqual(got.unmaskedData, want.unmaskedData, "chunk \(chunk)")
            }
            XCTAssertEqual(parser.heldBytes, 0, "nothing is held between frames")
        }
    }

    func testUnfinishedFrameIsHeldUntilItEnds() throws {
        var bytes = encoded([masked(.text, Array("abcdef".utf8))])
        var parser = ClientFrameParser(maxFrameSize: 100)
        var frames: [WebSocketFrame] = []
        try parser.parse(bytes.readSlice(length: 9)!) { frames.append($0) }
        XCTAssertTrue(frames.isEmpty)
        XCTAssertEqual(parser.heldBytes, 9)
        try parser.parse(bytes) { frames.append($0) }
        XCTAssertEqual(frames.map { String(buffer: $0.unmaskedData) }, ["abcdef"])
        XCTAssertEqual(parser.heldBytes, 0)
    }

    func testOversizedFrameIsRefusedFromItsHeaderAlone() {
        var parser = ClientFrameParser(maxFrameSize: 1000)
        // Header of a masked 1 MiB text frame, no payload yet.
        let header = ByteBuffer(bytes: [0x81, 0xFF, 0, 0, 0, 0, 0, 0x10, 0, 0])
        XCTAssertThrowsError(try parser.parse(header) { _ in XCTFail("no frame") }) {
            XCTAssertEqual($0 as? NIOWebSocketError, .invalidFrameLength)
        }
    }

    func testLengthBeyondIntIsRefused() {
        var parser = ClientFrameParser(maxFrameSize: 1000)
        let header = ByteBuffer(bytes: [0x82, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertThrowsError(try parser.parse(header) { _ in }) { XCTAssertEqual($0 as? NIOWebSocketError, .invalidFrameLength) }
    }

    func testFragmentedControlFrameIsRefused() {
        var parser = ClientFrameParser(maxFrameSize: 1000)
        XCTAssertThrowsError(try parser.parse(encoded([masked(.ping, [1], fin: false)])) { _ in }) {
            XCTAssertEqual($0 as? NIOWebSocketError, .fragmentedControlFrame)
        }
    }

    func testLongControlFrameIsRefused() {
        var parser = ClientFrameParser(maxFrameSize: 1000)
        let header = ByteBuffer(bytes: [0x89, 0xFE, 0, 126])  // a ping announcing 126 bytes
        XCTAssertThrowsError(try parser.parse(header) { _ in }) {
            XCTAssertEqual($0 as? NIOWebSocketError, .multiByteControlFrameLength)
        }
    }

    func testFramesBeforeABrokenOneAreDelivered() {
        var parser = ClientFrameParser(maxFrameSize: 1000)
        var bytes = encoded([masked(.text, Array("ok".utf8))])
        bytes.writeBytes([0x88, 0x7E, 0x00, 0x7E])  // a close announcing 126 bytes
        var frames: [WebSocketFrame] = []
        XCTAssertThrowsError(try parser.parse(bytes) { frames.append($0) })
        XCTAssertEqual(frames.map { String(buffer: $0.unmaskedData) }, ["ok"])
    }
}

/// The header NIO's `WebSocketFrameEncoder` would write, built here so the test does not
/// depend on a channel.
private enum FrameHeaderBytes {
    static func of(_ frame: WebSocketFrame) -> [UInt8] {
        var first: UInt8 = frame.fin ? 0x80 : 0
        if frame.rsv1 { first |= 0x40 }
        first |= UInt8(webSocketOpcode: frame.opcode)
        let maskBit: UInt8 = frame.maskKey == nil ? 0 : 0x80
        let length = frame.data.readableBytes
        var header: [UInt8] = [first]
        if length <= 125 {
            header.append(maskBit | UInt8(length))
        } else if length <= 0xFFFF {
            header += [maskBit | 126, UInt8(length >> 8), UInt8(length & 0xFF)]
        } else {
            header.append(maskBit | 127)
            header += (0..<8).reversed().map { UInt8((length >> ($0 * 8)) & 0xFF) }
        }
        if let key = frame.maskKey { header += Array(key) }
        return header
    }
}
