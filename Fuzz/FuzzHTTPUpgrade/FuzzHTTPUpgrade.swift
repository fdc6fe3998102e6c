@testable import HeraldWire
import Deflate
import NIOCore
import NIOEmbedded
import NIOHTTP1

/// Request bytes through NIO's HTTP decoder and herald's handshake rules: every request
/// head gets a decision, and an upgrade is only ever granted with a valid accept key.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPUpgrade(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let channel = EmbeddedChannel(handler: ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes)))
    defer { _ = try? channel.finish() }
    do {
        try channel.writeInbound(ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: size)))
    } catch {
        return 0  // malformed HTTP: herald answers 400
    }
    while let part = try? channel.readInbound(as: HTTPServerRequestPart.self) {
        guard case .head(let head) = part else { continue }
        let decision = HandshakeDecision.decide(method: head.method, uri: head.uri, headers: head.headers, negotiator: DeflateNegotiator())
        if case .upgrade(_, let accept, _) = decision {
            precondition(accept.utf8.count == 28)
        }
    }
    return 0
}
