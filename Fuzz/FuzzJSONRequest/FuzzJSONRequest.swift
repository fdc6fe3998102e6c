@testable import HeraldWire
import JSON
import NIOCore

/// JSON-mode requests: any bytes give a request or an error reply, never a crash, and
/// whatever parses writes back out as JSON that parses again.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONRequest(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let input = ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: size))
    _ = ClientRequest.parse(input)
    if let value = try? input.withUnsafeReadableBytes({ try JSONParser.parse($0) }) {
        var out = ByteBuffer()
        JSONWriter.write(value, into: &out)
        let again = try? out.withUnsafeReadableBytes { try JSONParser.parse($0) }
        precondition(again == value, "compact JSON must parse back to the same value")
    }
    return 0
}
