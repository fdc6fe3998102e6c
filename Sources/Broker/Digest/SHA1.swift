/// SHA-1 (FIPS 180-4 §6.1, RFC 3174). Broken for collision resistance; kept
/// for protocols that fix it: the WebSocket accept key (RFC 6455 §4.2.2) and
/// Redis script ids.
public struct SHA1: Sendable {
    private var core = MerkleDamgard<SHA1Compression>()

    public init() {}

    @inlinable
    public mutating func update<Bytes: Collection>(_ data: Bytes) where Bytes.Element == UInt8 {
        withContiguousBytes(of: data) { update($0) }
    }

    @usableFromInline
    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        core.absorb(bytes)
    }

    /// The 20-byte digest.
    public consuming func finalize() -> [UInt8] {
        core.finish()
    }

    /// The 20-byte digest of `data`.
    @inlinable
    public static func hash<Bytes: Collection>(_ data: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        var hasher = SHA1()
        hasher.update(data)
        return hasher.finalize()
    }
}
