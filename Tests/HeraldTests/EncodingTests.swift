@testable import HeraldWire
@testable import HeraldCore
import Deflate
import NIOCore
import Testing
import Topics

@Suite struct EncodingTests {
    @Test func utf8Validation() {
        func valid(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBytes { UTF8Validation.isValid($0) } }
        #expect(valid(Array("héllo €𝄞".utf8)))
        #expect(!valid([0xC0, 0x80]))  // overlong
        #expect(!valid([0xED, 0xA0, 0x80]))  // surrogate
        #expect(!valid([0xF4, 0x90, 0x80, 0x80]))  // above U+10FFFF
        #expect(!valid([0xE2, 0x82]))  // truncated
        #expect(valid([]))
    }

    @Test func framesAreSharedAndCompressedOnce() throws {
        let encoder = FrameEncoder(compressionThreshold: 16, memoryLevel: 8)
        let message = PublishedMessage(topic: try TopicName("prices.AAPL"), seq: 9, payload: ByteBuffer(string: String(repeating: "189.25,", count: 20)))
        var cache = FrameCache()
        func frame(_ form: WireForm) -> ByteBuffer { cache.frame(for: form, encoding: message, with: encoder) }
        let plain = frame(WireForm(mode: .raw, deflateWindowBits: 0))
        #expect(plain.getBytes(at: plain.readerIndex, length: 2) == [0x81, 126], "140 bytes take a 16-bit length")
        let compressed = frame(WireForm(mode: .raw, deflateWindowBits: 15))
        #expect(compressed.getInteger(at: compressed.readerIndex, as: UInt8.self) == 0xC1, "FIN, RSV1, text")
        #expect(compressed.readableBytes < plain.readableBytes)
        let again = frame(WireForm(mode: .raw, deflateWindowBits: 15))
        #expect(
            again.withUnsafeReadableBytes { $0.baseAddress } == compressed.withUnsafeReadableBytes { $0.baseAddress },
            "the same bytes, not a second compression")
        var payload = compressed
        payload.moveReaderIndex(forwardBy: 2)
        let inflated = try MessageDecompressor().decompress(Array(payload.readableBytesView))
        #expect(inflated == Array(message.payload.readableBytesView))
    }

    @Test func envelopeForms() throws {
        let encoder = FrameEncoder(compressionThreshold: 64, memoryLevel: 8)
        func envelope(_ payload: [UInt8]) throws -> String {
            String(buffer: encoder.envelope(PublishedMessage(topic: try TopicName("t"), seq: 1, payload: ByteBuffer(bytes: payload)), retained: false))
        }
        #expect(try envelope(Array("{\"p\": 1}".utf8)) == "{\"op\":\"message\",\"topic\":\"t\",\"seq\":1,\"data\":{\"p\": 1}}")
        #expect(try envelope(Array("say \"hi\"".utf8)) == "{\"op\":\"message\",\"topic\":\"t\",\"seq\":1,\"data\":\"say \\\"hi\\\"\"}")
        #expect(try envelope([0xFF]) == "{\"op\":\"message\",\"topic\":\"t\",\"seq\":1,\"data\":\"/w==\",\"encoding\":\"base64\"}")
    }
}
