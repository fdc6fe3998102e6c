import NIOCore

/// The frames of one message during its fan-out, one per wire form, made once and let go
/// when the fan-out ends. Most fan-outs have one form, which needs no allocation.
struct FrameCache {
    private var first: (form: WireForm, frame: ByteBuffer)?
    private var others: [(form: WireForm, frame: ByteBuffer)] = []

    mutating func frame(for form: WireForm, encoding message: PublishedMessage, with encoder: FrameEncoder) -> ByteBuffer {
        if let first, first.form == form { return first.frame }
        for entry in others where entry.form == form { return entry.frame }
        let frame = encoder.encode(message, as: form)
        if first == nil { first = (form, frame) } else { others.append((form, frame)) }
        return frame
    }
}
