import Deflate

/// `Sec-WebSocket-Extensions` negotiation: whatever is offered, an agreement names only
/// windows zlib can honour.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzExtensions(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let headers = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    if let agreed = DeflateNegotiator().negotiate(headerValues: headers) {
        precondition((9...15).contains(agreed.serverMaxWindowBits))
        precondition((8...15).contains(agreed.clientMaxWindowBits))
    }
    return 0
}
