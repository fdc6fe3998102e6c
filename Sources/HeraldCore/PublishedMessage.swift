import HeraldWire
import NIOCore
import NIOWebSocket
import Topics

/// One accepted publish: its payload, its place in the broker's order, and the frames it
/// has been encoded into so far. Lives on the core loop; history and retained messages
/// hold these too, so a resume or a new subscriber reuses the frames already made.
package final class PublishedMessage: StoredMessage {
    package let topic: TopicName
    package let seq: UInt64
    package let payload: ByteBuffer
    /// Valid UTF-8 and not marked binary by its publisher: sent as a text frame in raw mode,
    /// and as JSON or a string in JSON mode.
    package let isText: Bool
    /// At most one frame per wire form; a handful of forms exist, so a list beats a table.
    private var frames: [(form: WireForm, frame: ByteBuffer)] = []

    package init(topic: TopicName, seq: UInt64, payload: ByteBuffer, binary: Bool = false) {
        self.topic = topic
        self.seq = seq
        self.payload = payload
        self.isText = !binary && UTF8Validation.isValid(payload)
    }

    package var payloadIsEmpty: Bool { payload.readableBytes == 0 }

    package func frame(for form: WireForm, encoder: FrameEncoder) -> ByteBuffer {
        for entry in frames where entry.form == form { return entry.frame }
        let frame = encoder.encode(self, as: form)
        frames.append((form, frame))
        return frame
    }
}
