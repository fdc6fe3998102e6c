/// SHA-256 (FIPS 180-4 §6.2): the digest behind HS256 JWT signatures.
public struct SHA256: Sendable {
    private var core = MerkleDamgard<SHA256Compression>()

    public init() {}

    @inlinable
    public mutating func update<Bytes: Collection>(_ data: Bytes) where Bytes.Element == UInt8 {
        withContiguousBytes(of: data) { update($0) }
    }

    @usableFromInline
    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        core.absorb(bytes)
    }

    /// The 32-byte digest.
    public consuming func finalize() -> [UInt8] {
        core.finish()
    }

    /// Writes the 32-byte digest to `output`; lets HMAC keep its inner digest
    /// on the stack.
    consuming func finalize(into output: UnsafeMutableRawPointer) {
        core.finish(into: output)
    }

    /// The 32-byte digest of `data`.
    @inlinable
    public static func hash<Bytes: Collection>(_ data: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        var hasher = SHA256()
        hasher.update(data)
        return hasher.finalize()
    }
}
