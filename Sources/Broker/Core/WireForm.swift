/// The bytes a subscriber receives for a message depend only on its mode and its
/// compression window, so subscribers are grouped by this and each group's frame is
/// encoded once per message.
package struct WireForm: Hashable, Sendable {
    package enum Mode: UInt8, Sendable {
        case raw
        case json
        /// Server-sent events (PROTOCOL.md §12): never compressed.
        case sse
    }

    package var mode: Mode
    /// The compressor window for permessage-deflate, 0 when the connection is uncompressed.
    package var deflateWindowBits: UInt8

    package init(mode: Mode, deflateWindowBits: UInt8) {
        self.mode = mode
        self.deflateWindowBits = deflateWindowBits
    }
}
