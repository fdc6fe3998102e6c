import HeraldWire
import Deflate
import ExtrasBase64
import NIOCore
import NIOWebSocket

/// Turns published messages into ready-to-send frames. Owned by the core loop, with one
/// shared compressor per window size: every compressed form resets its context after each
/// message, so its output is the same for every subscriber and is made once.
package final class FrameEncoder {
    private let allocator = ByteBufferAllocator()
    private let threshold: Int
    private let memoryLevel: Int
    private var compressors: [UInt8: MessageCompressor] = [:]

    package init(compressionThreshold: Int, memoryLevel: Int) {
        self.threshold = compressionThreshold
        self.memoryLevel = memoryLevel
    }

    package func encode(_ message: PublishedMessage, as form: WireForm) -> ByteBuffer {
        switch form.mode {
        case .raw:
            return frame(message.payload, text: message.isText, deflateWindowBits: form.deflateWindowBits)
        case .json:
            return frame(envelope(message, retained: false), text: true, deflateWindowBits: form.deflateWindowBits)
        }
    }

    /// A JSON envelope marked `"retained":true`, sent once to a new subscriber.
    package func retainedFrame(_ message: PublishedMessage, deflateWindowBits: UInt8) -> ByteBuffer {
        frame(envelope(message, retained: true), text: true, deflateWindowBits: deflateWindowBits)
    }

    /// A text frame of any JSON reply (ok, error, gap, pong).
    package func reply(_ json: ByteBuffer, deflateWindowBits: UInt8) -> ByteBuffer {
        frame(json, text: true, deflateWindowBits: deflateWindowBits)
    }

    package func frame(_ payload: ByteBuffer, text: Bool, deflateWindowBits: UInt8) -> ByteBuffer {
        let opcode: WebSocketOpcode = text ? .text : .binary
        if deflateWindowBits != 0, payload.readableBytes >= threshold,
            let compressed = compressedFrame(payload, opcode: opcode, windowBits: deflateWindowBits)
        {
            return compressed
        }
        return FrameHeader.frame(opcode: opcode, payload: payload, allocator: allocator)
    }

    /// nil when compression does not make the message smaller.
    private func compressedFrame(_ payload: ByteBuffer, opcode: WebSocketOpcode, windowBits: UInt8) -> ByteBuffer? {
        guard let compressor = compressor(windowBits: windowBits) else { return nil }
        // deflateBound's worst case for a sync-flushed message, so the compressor never regrows it.
        var buffer = FrameHeader.bufferWithHeadroom(capacity: payload.readableBytes + payload.readableBytes / 1000 + 64, allocator: allocator)
        guard (try? compressor.compress(payload, into: &buffer)) != nil, buffer.readableBytes < payload.readableBytes else {
            return nil
        }
        FrameHeader.prependHeader(opcode: opcode, compressed: true, to: &buffer)
        return buffer
    }

    private func compressor(windowBits: UInt8) -> MessageCompressor? {
        if let existing = compressors[windowBits] { return existing }
        let made = try? MessageCompressor(windowBits: Int(windowBits), memoryLevel: memoryLevel, noContextTakeover: true)
        compressors[windowBits] = made
        return made
    }

    /// `{"op":"message","topic":…,"seq":…,"data":…}` per CONTRACT §4.3.
    package func envelope(_ message: PublishedMessage, retained: Bool) -> ByteBuffer {
        let payload = message.payload
        var json = allocator.buffer(capacity: payload.readableBytes * 4 / 3 + message.topic.string.utf8.count + 64)
        json.writeStaticString("{\"op\":\"message\",\"topic\":\"")
        json.writeString(message.topic.string)  // topic names never need escaping
        json.writeStaticString("\",\"seq\":")
        json.writeString(String(message.seq))
        json.writeStaticString(",\"data\":")
        payload.withUnsafeReadableBytes { bytes in
            if message.isText && JSONParser.isValid(bytes) {
                json.writeBytes(bytes)
            } else if message.isText {
                JSONWriter.writeString(utf8: bytes, into: &json)
            } else {
                json.writeInteger(UInt8(ascii: "\""))
                json.writeBytes(Base64.encodeToBytes(bytes: bytes))
                json.writeStaticString("\",\"encoding\":\"base64")
                json.writeInteger(UInt8(ascii: "\""))
            }
        }
        if retained { json.writeStaticString(",\"retained\":true") }
        json.writeInteger(UInt8(ascii: "}"))
        return json
    }
}
