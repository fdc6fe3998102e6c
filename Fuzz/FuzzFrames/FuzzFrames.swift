@testable import HeraldWire
import NIOCore
import NIOEmbedded
import NIOWebSocket

/// Client bytes through NIO's frame decoder and herald's message assembler: every outcome
/// is a message, a control event or a close code, never a crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrames(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let channel = EmbeddedChannel(handler: ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: 4096)))
    defer { _ = try? channel.finish() }
    var assembler = MessageAssembler(maxMessageBytes: 8192, compressionNegotiated: size % 2 == 0)
    do {
        try channel.writeInbound(ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: size)))
    } catch {
        return 0  // the decoder refused the bytes: herald closes with 1002 or 1009
    }
    while let frame = try? channel.readInbound(as: WebSocketFrame.self) {
        switch assembler.receive(frame) {
        case .message(_, let payload, _): precondition(payload.readableBytes <= 8192)
        case .fail(let code, _): precondition([1002, 1007, 1009].contains(code)); return 0
        default: break
        }
    }
    return 0
}
