import Deflate

nonisolated(unsafe) let decompressor = try! MessageDecompressor()

/// The inflater on hostile data: an error or at most the limit, never more, and the shared
/// instance keeps working afterwards.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInflate(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    if let output = try? decompressor.decompress(input, limit: 64 * 1024) {
        precondition(output.count <= 64 * 1024)
    }
    precondition((try? decompressor.decompress([0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00])) == Array("Hello".utf8))
    return 0
}
