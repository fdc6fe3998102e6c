import CZlib
import NIOCore

/// Inflates whole WebSocket messages (RFC 7692 §7.2.2) with a hard limit on output size.
///
/// Not thread-safe: one instance belongs to one event loop. When the peer does not keep
/// context across messages, the stream is reset after each message and one instance can
/// serve every connection on a loop.
public final class MessageDecompressor {
    public let noContextTakeover: Bool
    private let zstream: ZStream
    private var stream: UnsafeMutablePointer<z_stream> { zstream.pointer }
    private static let tail: [UInt8] = [0x00, 0x00, 0xFF, 0xFF]

    /// - Parameter windowBits: 8...15; a 15-bit window inflates data made with any smaller one.
    public init(windowBits: Int = 15, noContextTakeover: Bool = true) throws {
        precondition((8...15).contains(windowBits), "raw inflate supports 8...15 window bits")
        self.noContextTakeover = noContextTakeover
        zstream = try ZStream(operation: "inflateInit2", start: { herald_inflateInit2($0, -Int32(windowBits)) }, end: { inflateEnd($0) })
    }

    /// Inflates one message (the payloads of all its frames, concatenated) and appends the
    /// result to `output`. Never writes more than `limit` bytes: once the message is known
    /// to exceed it, inflating stops and `messageTooLarge` is thrown.
    public func decompress(_ message: ByteBuffer, limit: Int, into output: inout ByteBuffer) throws {
        let start = output.writerIndex
        do {
            try message.withUnsafeReadableBytes { try inflateChunk($0, start: start, limit: limit, output: &output) }
            try Self.tail.withUnsafeBytes { try inflateChunk($0, start: start, limit: limit, output: &output) }
        } catch {
            inflateReset(stream)
            output.moveWriterIndex(to: start)
            throw error
        }
        if noContextTakeover { inflateReset(stream) }
    }

    private func inflateChunk(_ input: UnsafeRawBufferPointer, start: Int, limit: Int, output: inout ByteBuffer) throws {
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(input.count)
        defer { stream.pointee.next_in = nil }
        while true {
            let written = output.writerIndex - start
            // Grow with what has been inflated so far (small messages stay small), and never
            // ask for more than one byte past the limit: enough to know it is crossed.
            let room = min(limit - written + 1, max(output.writableBytes, 1024, min(written, 1 << 20)))
            var outputFull = false
            var code = Z_OK
            output.writeWithUnsafeMutableBytes(minimumWritableBytes: room) { out in
                stream.pointee.next_out = out.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.pointee.avail_out = uInt(room)
                code = inflate(stream, Z_SYNC_FLUSH)
                outputFull = stream.pointee.avail_out == 0
                return room - Int(stream.pointee.avail_out)
            }
            if output.writerIndex - start > limit { throw DeflateError.messageTooLarge(limit: limit) }
            switch code {
            case Z_OK:
                if stream.pointee.avail_in == 0 && !outputFull { return }
            case Z_BUF_ERROR:
                // No progress possible: all input consumed and nothing more to emit.
                if stream.pointee.avail_in == 0 { return }
                throw DeflateError.corruptData
            case Z_STREAM_END:
                // A message may end in a final block; what follows it must be only our tail
                // or nothing. Start a fresh stream so later input is read as new blocks.
                let trailing = Int(stream.pointee.avail_in)
                inflateReset(stream)
                if trailing == 0 { return }
                stream.pointee.avail_in = uInt(trailing)
            default:
                throw DeflateError.corruptData
            }
        }
    }
}

extension MessageDecompressor {
    /// A convenience for tests and tools.
    public func decompress(_ message: [UInt8], limit: Int = .max / 2) throws -> [UInt8] {
        var input = ByteBufferAllocator().buffer(capacity: message.count)
        input.writeBytes(message)
        var output = ByteBufferAllocator().buffer(capacity: 256)
        try decompress(input, limit: limit, into: &output)
        return output.readBytes(length: output.readableBytes) ?? []
    }
}
