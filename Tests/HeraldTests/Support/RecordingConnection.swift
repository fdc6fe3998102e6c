@testable import HeraldCore
import NIOCore
import NIOEmbedded
import NIOWebSocket

/// A connection that keeps what the core delivers to it, decoded back into messages with
/// NIO's own frame decoder, so that the core's rules can be checked without sockets.
final class RecordingConnection: SubscriberConnection {
    struct Message: Equatable {
        var text: Bool
        var payload: String
    }

    private(set) var deliveries: [Delivery] = []
    private let decoder = EmbeddedChannel(handler: ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: 1 << 24)))

    func deliver(_ delivery: Delivery) {
        deliveries.append(delivery)
    }

    /// Every frame delivered so far, in order.
    var messages: [Message] {
        var result: [Message] = []
        for case .frames(let frames, _, _) in deliveries {
            try! decoder.writeInbound(frames)
            while let frame = try! decoder.readInbound(as: WebSocketFrame.self) {
                result.append(Message(text: frame.opcode == .text, payload: String(buffer: frame.data)))
            }
        }
        return result
    }

    /// The `messages` delivered per `.frames` delivery: how the outbox coalesced them.
    var batchSizes: [Int] {
        deliveries.compactMap { if case .frames(_, let count, _) = $0 { count } else { nil } }
    }

    func clear() { deliveries.removeAll() }
}
