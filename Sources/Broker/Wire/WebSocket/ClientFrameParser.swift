import NIOCore
import NIOWebSocket

/// Cuts a client's frames out of the bytes its connection reads, with the checks of NIO's
/// `WebSocketFrameDecoder` (frame size, fragmented or long control frames, checked as soon
/// as a header is complete, before any payload is waited for) and its `WebSocketFrame`s and
/// errors.
///
/// Hand-written rather than NIO's decoder because that decoder only runs inside a
/// `ByteToMessageHandler`: the handler, its context, its buffer ring and an empty buffer
/// cost every idle connection about 0.55 KiB, an eighth of all it cost (BENCHMARKS.md,
/// issue 14). This parser holds nothing while no frame is half
/// received.
package struct ClientFrameParser {
    package let maxFrameSize: Int
    /// The start of a frame whose end has not arrived; nil between frames.
    private var partial: ByteBuffer?

    package init(maxFrameSize: Int) {
        self.maxFrameSize = maxFrameSize
    }

    /// Bytes of an unfinished frame held for the next read.
    package var heldBytes: Int { partial?.readableBytes ?? 0 }

    /// Calls `body` with every frame `bytes` completes, in order; what is left of an
    /// unfinished frame waits for the next call. A violation throws `NIOWebSocketError`, and
    /// the parser must not be used again.
    package mutating func parse(_ bytes: ByteBuffer, _ body: (WebSocketFrame) throws -> Void) throws {
        var buffer: ByteBuffer
        if var held = partial.take() {
            var bytes = bytes
            held.writeBuffer(&bytes)
            buffer = held
        } else {
            buffer = bytes
        }
        while let frame = try Self.nextFrame(from: &buffer, maxFrameSize: maxFrameSize) {
            try body(frame)
        }
        if buffer.readableBytes > 0 { partial = buffer }
    }

    /// The frame at the start of `buffer`, consumed; nil (and `buffer` untouched) when it is
    /// not all there yet.
    private static func nextFrame(from buffer: inout ByteBuffer, maxFrameSize: Int) throws -> WebSocketFrame? {
        let start = buffer.readerIndex
        guard let firstByte = buffer.getInteger(at: start, as: UInt8.self),
            let lengthByte = buffer.getInteger(at: start + 1, as: UInt8.self)
        else { return nil }
        let masked = lengthByte & 0x80 != 0
        var headerLength = 2
        let length: Int
        switch lengthByte & 0x7F {
        case 126:
            guard let word = buffer.getInteger(at: start + 2, as: UInt16.self) else { return nil }
            length = Int(word)
            headerLength += 2
        case 127:
            guard let quadWord = buffer.getInteger(at: start + 2, as: UInt64.self) else { return nil }
            guard quadWord <= UInt64(Int.max) else { throw NIOWebSocketError.invalidFrameLength }
            length = Int(quadWord)
            headerLength += 8
        case let short:
            length = Int(short)
        }
        try validate(firstByte: firstByte, length: length, maxFrameSize: maxFrameSize)
        var maskKey: WebSocketMaskingKey?
        if masked {
            guard let key = buffer.getInteger(at: start + headerLength, as: UInt32.self) else { return nil }
            // The key's four bytes in wire order. NIO's public initialiser is generic and,
            // unspecialised across modules, allocated four times per frame (`make
            // benchmarks`, 100 masked frames parsed and assembled: 716 mallocs with it, 316
            // without); the key's layout is those four bytes, which `unsafeBitCast` checks
            // by size and the tests by value.
            maskKey = unsafeBitCast(key.bigEndian, to: WebSocketMaskingKey.self)
            headerLength += 4
        }
        guard let data = buffer.getSlice(at: start + headerLength, length: length) else { return nil }
        buffer.moveReaderIndex(forwardBy: headerLength + length)
        return WebSocketFrame(
            fin: firstByte & 0x80 != 0, rsv1: firstByte & 0x40 != 0, rsv2: firstByte & 0x20 != 0, rsv3: firstByte & 0x10 != 0,
            opcode: WebSocketOpcode(encodedWebSocketOpcode: firstByte & 0x0F)!, maskKey: maskKey, data: data
        )
    }

    private static func validate(firstByte: UInt8, length: Int, maxFrameSize: Int) throws {
        if length > maxFrameSize { throw NIOWebSocketError.invalidFrameLength }
        let isControlFrame = firstByte & 0x08 != 0
        if isControlFrame && firstByte & 0x80 == 0 { throw NIOWebSocketError.fragmentedControlFrame }
        if isControlFrame && length > 125 { throw NIOWebSocketError.multiByteControlFrameLength }
    }
}
