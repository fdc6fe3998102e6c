@testable import HeraldWire
import NIOCore
import NIOEmbedded
import NIOWebSocket

/// Client bytes through herald's frame parser, checked against NIO's frame decoder (the
/// same frames, the same refusal), then through the message assembler: every outcome is a
/// message, a control event or a close code, never a crash. The bytes reach the parser in
/// two reads, split where the input says, so that frames cut anywhere are covered.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrames(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    let bytes = ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: size))

    let channel = EmbeddedChannel(handler: ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: 4096)))
    defer { _ = try? channel.finish() }
    let nioRefused = (try? channel.writeInbound(bytes)) == nil
    var nioFrames: [WebSocketFrame] = []
    while let frame = try? channel.readInbound(as: WebSocketFrame.self) { nioFrames.append(frame) }

    var parser = ClientFrameParser(maxFrameSize: 4096)
    var frames: [WebSocketFrame] = []
    var refused = false
    let split = Int(data[0]) % (size + 1)
    do {
        try parser.parse(bytes.getSlice(at: 0, length: split)!) { frames.append($0) }
        try parser.parse(bytes.getSlice(at: split, length: size - split)!) { frames.append($0) }
    } catch {
        refused = true
    }
    precondition(refused == nioRefused, "refusal differs from NIO's decoder")
    precondition(frames == nioFrames, "frames differ from NIO's decoder")

    var assembler = MessageAssembler(maxMessageBytes: 8192, compressionNegotiated: size % 2 == 0)
    for frame in frames {
        switch assembler.receive(frame) {
        case .message(_, let payload, _): precondition(payload.readableBytes <= 8192)
        case .fail(let code, _): precondition([1002, 1007, 1009].contains(code)); return 0
        default: break
        }
    }
    return 0
}
