/// Every public entry point funnels its `Collection` through here, so the
/// hashing code itself is non-generic and compiled once in this module.
/// Contiguous inputs (arrays, slices, native strings' UTF-8 views) are read in
/// place; anything else is copied once.
///
/// `@inlinable`, like the public adapters that call it, so the caller's
/// module specializes it for its concrete collection instead of going through
/// witness tables. Measured across modules (callgrind instruction counts, so
/// independent of machine load): ConstantTime.equal on 32 bytes 1 505 -> 389
/// instructions (~74 -> ~11 ns), an HMAC check of a 200-byte token 19 705 ->
/// 18 587, SHA-256 of 200 bytes 15 779 -> 15 276. The hashing itself stays
/// behind non-inlinable `@usableFromInline` entry points taking raw buffers.
@inlinable
func withContiguousBytes<Bytes: Collection, Result>(
    of bytes: Bytes, _ body: (UnsafeRawBufferPointer) -> Result
) -> Result where Bytes.Element == UInt8 {
    if let result = bytes.withContiguousStorageIfAvailable({ body(UnsafeRawBufferPointer($0)) }) {
        return result
    }
    return Array(bytes).withUnsafeBytes(body)
}
