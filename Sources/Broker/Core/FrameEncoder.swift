import HeraldWire
import Deflate
import ExtrasBase64
import JSON
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
    /// The broker's epoch, for the `id:` of server-sent events.
    private let epoch: String

    package init(compressionThreshold: Int, memoryLevel: Int, epoch: String = "") {
        self.threshold = compressionThreshold
        self.memoryLevel = memoryLevel
        self.epoch = epoch
    }

    package func encode(_ message: PublishedMessage, as form: WireForm) -> ByteBuffer {
        switch form.mode {
        case .raw:
            return frame(message.payload, text: message.isText, deflateWindowBits: form.deflateWindowBits)
        case .json:
            return frame(envelope(message, retained: false), text: true, deflateWindowBits: form.deflateWindowBits)
        case .sse:
            return event(message, retained: false)
        }
    }

    /// What a new subscription gets for a retained message: in JSON mode and SSE the
    /// envelope is marked `"retained":true`; raw mode cannot mark it.
    package func retainedFrame(_ message: PublishedMessage, as form: WireForm) -> ByteBuffer {
        switch form.mode {
        case .raw: encode(message, as: form)
        case .json: frame(envelope(message, retained: true), text: true, deflateWindowBits: form.deflateWindowBits)
        case .sse: event(message, retained: true)
        }
    }

    /// A JSON reply (ok, error, gap, pong) as a text frame; for SSE only a gap is ever sent,
    /// as `event: gap` carrying the object without its `op` (PROTOCOL.md §12).
    package func reply(_ json: ByteBuffer, as form: WireForm) -> ByteBuffer {
        guard form.mode == .sse else { return frame(json, text: true, deflateWindowBits: form.deflateWindowBits) }
        var object = json
        let opPrefix = "{\"op\":\"gap\","
        if object.readableBytesView.starts(with: opPrefix.utf8) { object.moveReaderIndex(forwardBy: opPrefix.utf8.count - 1) }
        var event = allocator.buffer(capacity: object.readableBytes + 24)
        event.writeStaticString("event: gap\ndata: {")
        object.moveReaderIndex(forwardBy: 1)
        event.writeBuffer(&object)
        event.writeStaticString("\n\n")
        return event
    }

    /// `id: <epoch>:<seq>`, `event: message`, and the envelope without its `op` on one line.
    package func event(_ message: PublishedMessage, retained: Bool) -> ByteBuffer {
        var object = envelope(message, retained: retained, withOp: false)
        // A JSON payload may span lines; outside its strings a line break is whitespace, so a
        // space keeps it the same JSON on the one `data:` line an event allows.
        if object.readableBytesView.contains(where: { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") }) {
            object = ByteBuffer(bytes: object.readableBytesView.map { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") ? UInt8(ascii: " ") : $0 })
        }
        var event = allocator.buffer(capacity: object.readableBytes + epoch.utf8.count + 48)
        event.writeStaticString("id: ")
        event.writeString(epoch)
        event.writeInteger(UInt8(ascii: ":"))
        event.writeString(String(message.seq))
        event.writeStaticString("\nevent: message\ndata: ")
        event.writeBuffer(&object)
        event.writeStaticString("\n\n")
        return event
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

    /// `{"op":"message","topic":…,"seq":…,"data":…}` per PROTOCOL.md §4.3.
    package func envelope(_ message: PublishedMessage, retained: Bool, withOp: Bool = true) -> ByteBuffer {
        let payload = message.payload
        var json = allocator.buffer(capacity: payload.readableBytes * 4 / 3 + message.topic.string.utf8.count + 64)
        if withOp { json.writeStaticString("{\"op\":\"message\",\"topic\":\"") } else { json.writeStaticString("{\"topic\":\"") }
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
