@testable import HeraldWire
import NIOCore

/// The Unix-socket line protocol, fed in chunks whose sizes come from the input itself.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPublisherParser(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let bytes = UnsafeBufferPointer(start: data, count: size)
    var parser = PublisherCommandParser(maxLineBytes: 128, maxPayloadBytes: 256)
    var buffer = ByteBuffer()
    var offset = 0
    while offset < bytes.count {
        let chunk = 1 + Int(bytes[offset] % 17)
        buffer.writeBytes(bytes[offset..<min(bytes.count, offset + chunk)])
        offset += chunk
        while let command = parser.next(from: &buffer) {
            if case .publish(_, let payload, _, _) = command { precondition(payload.readableBytes <= 256) }
            if case .refuse(_, _, true) = command { return 0 }
        }
        precondition(buffer.readableBytes <= 128 + 256 + 64, "the parser must not buffer without bound")
    }
    return 0
}
