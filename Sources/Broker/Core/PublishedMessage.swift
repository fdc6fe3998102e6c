import HeraldWire
import NIOCore
import Topics

/// One accepted publish: its payload and its place in the broker's order. Lives on the core
/// loop; history and retained messages hold these. Frames are made per fan-out
/// (`FrameCache`) and for replays on demand, so that what history holds is payloads only.
package final class PublishedMessage: StoredMessage {
    package let topic: TopicName
    package let seq: UInt64
    package let payload: ByteBuffer
    /// Valid UTF-8 and not marked binary by its publisher: sent as a text frame in raw mode,
    /// and as JSON or a string in JSON mode.
    package let isText: Bool

    package init(topic: TopicName, seq: UInt64, payload: ByteBuffer, binary: Bool = false) {
        self.topic = topic
        self.seq = seq
        self.payload = payload
        self.isText = !binary && UTF8Validation.isValid(payload)
    }

    package var payloadIsEmpty: Bool { payload.readableBytes == 0 }
    package var payloadByteCount: Int { payload.readableBytes }
}
