import CZlib
import NIOCore

/// Compresses whole WebSocket messages the way RFC 7692 §7.2.1 frames them.
///
/// Not thread-safe: one instance belongs to one event loop. With `noContextTakeover` the
/// stream is reset after every message, so the output depends only on the input and the
/// settings: one instance can serve every connection on a loop whose parameters share
/// these settings, and a message fanned out to many subscribers is compressed once.
public final class MessageCompressor {
    public let windowBits: Int
    public let memoryLevel: Int
    public let noContextTakeover: Bool
    private let zstream: ZStream
    private var stream: UnsafeMutablePointer<z_stream> { zstream.pointer }

    /// - Parameters:
    ///   - windowBits: 9...15; memory is about `2^(windowBits+2)` bytes plus the hash.
    ///   - memoryLevel: 1...9; memory is about `2^(memoryLevel+9)` bytes.
    ///   - level: zlib's level, 0...9; 6 is zlib's own default balance.
    public init(windowBits: Int = 15, memoryLevel: Int = 8, level: Int = 6, noContextTakeover: Bool = true) throws {
        precondition((9...15).contains(windowBits), "raw deflate supports 9...15 window bits")
        precondition((1...9).contains(memoryLevel), "memLevel is 1...9")
        self.windowBits = windowBits
        self.memoryLevel = memoryLevel
        self.noContextTakeover = noContextTakeover
        // Negative window bits ask zlib for raw deflate: no zlib header, no checksum.
        zstream = try ZStream(
            operation: "deflateInit2",
            start: { herald_deflateInit2($0, Int32(level), -Int32(windowBits), Int32(memoryLevel)) },
            end: { deflateEnd($0) }
        )
    }

    /// Appends the compressed form of `message` to `output`, without the final
    /// `00 00 ff ff` that §7.2.1 strips. Returns the number of bytes appended.
    @discardableResult
    public func compress(_ message: ByteBuffer, into output: inout ByteBuffer) throws -> Int {
        try message.withUnsafeReadableBytes { try compress(UnsafeRawBufferPointer($0), into: &output) }
    }

    @discardableResult
    public func compress(_ message: UnsafeRawBufferPointer, into output: inout ByteBuffer) throws -> Int {
        let start = output.writerIndex
        defer { if noContextTakeover { deflateReset(stream) } }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: message.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(message.count)
        // A sync flush ends the message on a byte boundary with an empty stored block.
        let bound = Int(deflateBound(stream, uLong(message.count))) + 8
        var finished = false
        while !finished {
            var code = Z_OK
            output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { out in
                stream.pointee.next_out = out.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.pointee.avail_out = uInt(out.count)
                code = deflate(stream, Z_SYNC_FLUSH)
                return out.count - Int(stream.pointee.avail_out)
            }
            guard code == Z_OK || code == Z_BUF_ERROR else {
                throw DeflateError.zlib(code: code, operation: "deflate")
            }
            // zlib has flushed everything once it leaves room in the output.
            finished = stream.pointee.avail_out > 0 && stream.pointee.avail_in == 0
        }
        stream.pointee.next_in = nil
        let produced = output.writerIndex - start
        precondition(produced >= 4, "a sync flush always ends in an empty stored block")
        output.moveWriterIndex(to: output.writerIndex - 4)
        return produced - 4
    }
}

extension MessageCompressor {
    /// A convenience for tests and tools: the compressed bytes of `message`.
    public func compress(_ message: [UInt8]) throws -> [UInt8] {
        var output = ByteBufferAllocator().buffer(capacity: message.count + 16)
        try message.withUnsafeBytes { _ = try compress($0, into: &output) }
        return output.readBytes(length: output.readableBytes) ?? []
    }
}
