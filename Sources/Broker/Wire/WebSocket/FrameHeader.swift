import NIOCore
import NIOWebSocket

/// Server-to-client frame headers (RFC 6455 §5.2). Server frames are never masked, so a
/// message encoded once is byte-identical for every subscriber and one `ByteBuffer` can be
/// written to all of them.
package enum FrameHeader {
    /// The largest header a server frame can have: 2 bytes plus a 64-bit length.
    package static let maxLength = 10

    package static func length(forPayload count: Int) -> Int {
        count < 126 ? 2 : (count <= 0xFFFF ? 4 : 10)
    }

    package static func write(opcode: WebSocketOpcode, compressed: Bool, payloadLength: Int, into buffer: inout ByteBuffer) {
        buffer.writeInteger(firstByte(opcode: opcode, compressed: compressed))
        if payloadLength < 126 {
            buffer.writeInteger(UInt8(payloadLength))
        } else if payloadLength <= 0xFFFF {
            buffer.writeInteger(UInt8(126))
            buffer.writeInteger(UInt16(payloadLength))
        } else {
            buffer.writeInteger(UInt8(127))
            buffer.writeInteger(UInt64(payloadLength))
        }
    }

    private static func firstByte(opcode: WebSocketOpcode, compressed: Bool) -> UInt8 {
        // FIN is always set: herald never fragments what it sends.
        var byte: UInt8 = 0x80 | UInt8(webSocketOpcode: opcode)
        if compressed { byte |= 0x40 }
        return byte
    }

    /// A whole unfragmented frame carrying `payload`.
    package static func frame(opcode: WebSocketOpcode, payload: ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: maxLength + payload.readableBytes)
        write(opcode: opcode, compressed: false, payloadLength: payload.readableBytes, into: &buffer)
        var payload = payload
        buffer.writeBuffer(&payload)
        return buffer
    }

    /// A buffer whose first `maxLength` bytes are reserved, so that the payload can be
    /// written (or compressed) straight into it and the header put in front afterwards.
    package static func bufferWithHeadroom(capacity: Int, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: maxLength + capacity)
        buffer.moveWriterIndex(forwardBy: maxLength)
        buffer.moveReaderIndex(forwardBy: maxLength)
        return buffer
    }

    /// Puts the header in front of the payload of a buffer made by `bufferWithHeadroom`.
    package static func prependHeader(opcode: WebSocketOpcode, compressed: Bool, to buffer: inout ByteBuffer) {
        let payloadLength = buffer.readableBytes
        let headerLength = length(forPayload: payloadLength)
        let start = buffer.readerIndex - headerLength
        var header = ByteBuffer()
        write(opcode: opcode, compressed: compressed, payloadLength: payloadLength, into: &header)
        buffer.setBuffer(header, at: start)
        buffer.moveReaderIndex(to: start)
    }
}
