/// The part of SHA-1 and SHA-256 that differs: the hash state and what one
/// 512-bit block does to it. Both share message padding and parsing
/// (FIPS 180-4 §5.1.1, §5.2.1), which `MerkleDamgard` implements once.
protocol BlockCompression: Sendable {
    static var digestByteCount: Int { get }

    /// The initial hash value.
    init()

    /// `blocks.count` is a multiple of 64. Taking many blocks per call lets the
    /// state stay in registers across a long message.
    mutating func compress(blocks: UnsafeRawBufferPointer)

    /// Writes the state big-endian, `digestByteCount` bytes.
    func writeDigest(to output: UnsafeMutableRawPointer)
}
