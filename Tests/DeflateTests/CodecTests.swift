import TestSupport
import Deflate
import NIOCore
import Testing

@Suite struct CodecTests {
    let hello = Array("Hello".utf8)

    @Test func rfc7692HelloVector() throws {
        let compressor = try MessageCompressor(noContextTakeover: true)
        #expect(try compressor.compress(hello) == [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00])
        // Without context takeover the second message compresses the same way.
        #expect(try compressor.compress(hello) == [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00])
    }

    @Test func rfc7692SecondHelloWithContextTakeover() throws {
        let compressor = try MessageCompressor(noContextTakeover: false)
        #expect(try compressor.compress(hello) == [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00])
        #expect(try compressor.compress(hello) == [0xF2, 0x00, 0x11, 0x00, 0x00])
    }

    @Test func rfc7692Vectors_inflate() throws {
        let decompressor = try MessageDecompressor(noContextTakeover: false)
        #expect(try decompressor.decompress([0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00]) == hello)
        #expect(try decompressor.decompress([0xF2, 0x00, 0x11, 0x00, 0x00]) == hello)
        // §7.2.3.2: a message sent as an uncompressed (stored) block.
        let fresh = try MessageDecompressor()
        #expect(try fresh.decompress([0x00, 0x05, 0x00, 0xFA, 0xFF, 0x48, 0x65, 0x6C, 0x6C, 0x6F, 0x00]) == hello)
        // §7.2.3.4: a message that ends in a final block (BFINAL set).
        #expect(try fresh.decompress([0xF3, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00]) == hello)
        #expect(try fresh.decompress([0xF3, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00, 0x00]) == hello)
    }

    @Test(arguments: 9...15)
    func randomRoundTrips(windowBits: Int) throws {
        var generator = SplitMix64(seed: UInt64(windowBits))
        for takeover in [false, true] {
            let compressor = try MessageCompressor(windowBits: windowBits, noContextTakeover: !takeover)
            let decompressor = try MessageDecompressor(windowBits: windowBits, noContextTakeover: !takeover)
            for round in 0..<40 {
                let length = Int(generator.next() % 40_000)
                // Half the messages are compressible text, half random bytes.
                let message: [UInt8] = (0..<length).map { index in
                    round.isMultiple(of: 2) ? UInt8(ascii: "a") + UInt8(index % 7) : UInt8(truncatingIfNeeded: generator.next())
                }
                let compressed = try compressor.compress(message)
                #expect(try decompressor.decompress(compressed) == message)
            }
        }
    }

    @Test func inflateStopsAtTheLimit() throws {
        let compressor = try MessageCompressor()
        let bomb = try compressor.compress([UInt8](repeating: 0, count: 4 << 20))
        #expect(bomb.count < 8 * 1024)
        let decompressor = try MessageDecompressor()
        #expect(throws: DeflateError.messageTooLarge(limit: 1 << 20)) {
            try decompressor.decompress(bomb, limit: 1 << 20)
        }
        #expect(try decompressor.decompress(bomb, limit: 4 << 20).count == 4 << 20)
        // The shared decompressor still works after an error.
        #expect(try decompressor.decompress([0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00]) == hello)
    }

    @Test func outputAtTheLimitAppendsAtMostOneExtraByte() throws {
        let decompressor = try MessageDecompressor()
        var input = ByteBufferAllocator().buffer(capacity: 64)
        input.writeBytes(try MessageCompressor().compress([UInt8](repeating: 7, count: 100_000)))
        var output = ByteBufferAllocator().buffer(capacity: 0)
        #expect(throws: DeflateError.self) { try decompressor.decompress(input, limit: 1000, into: &output) }
        #expect(output.readableBytes == 0, "a failed message leaves nothing behind")
    }

    @Test func corruptInputIsAnErrorNotACrash() throws {
        let decompressor = try MessageDecompressor()
        var generator = SplitMix64(seed: 42)
        var errors = 0
        for _ in 0..<2000 {
            let garbage = (0..<Int(generator.next() % 64)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            do { _ = try decompressor.decompress(garbage, limit: 1 << 16) } catch { errors += 1 }
        }
        #expect(errors > 1000)
        #expect(throws: DeflateError.corruptData) { try decompressor.decompress([0xFF, 0xFF, 0xFF, 0xFF]) }
        #expect(try decompressor.decompress([0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00]) == hello)
    }
}
