/// Streaming front end shared by SHA-1 and SHA-256: whole blocks go straight
/// from the caller's memory to the compression function; only a trailing
/// partial block is copied, into fixed inline storage, so hashing allocates
/// nothing.
struct MerkleDamgard<Compression: BlockCompression>: Sendable {
    private static var blockByteCount: Int { 64 }

    private var state = Compression()
    private var pending = InlineArray<64, UInt8>(repeating: 0)
    private var pendingCount = 0
    /// FIPS 180-4 §5.1.1 appends the length modulo 2^64 bits; wrapping matches that.
    private var byteCount: UInt64 = 0

    mutating func absorb(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        byteCount &+= UInt64(bytes.count)
        var rest = bytes[...]

        if pendingCount > 0 {
            let taken = min(Self.blockByteCount - pendingCount, rest.count)
            let start = pendingCount
            let head = UnsafeRawBufferPointer(rebasing: rest.prefix(taken))
            withUnsafeMutableBytes(of: &pending) { block in
                UnsafeMutableRawBufferPointer(rebasing: block[start..<(start + taken)]).copyMemory(from: head)
            }
            pendingCount += taken
            rest = rest.dropFirst(taken)
            guard pendingCount == Self.blockByteCount else { return }
            withUnsafeBytes(of: pending) { state.compress(blocks: $0) }
            pendingCount = 0
        }

        let wholeBlocks = rest.count - rest.count % Self.blockByteCount
        if wholeBlocks > 0 {
            state.compress(blocks: UnsafeRawBufferPointer(rebasing: rest.prefix(wholeBlocks)))
            rest = rest.dropFirst(wholeBlocks)
        }

        let tail = UnsafeRawBufferPointer(rebasing: rest)
        withUnsafeMutableBytes(of: &pending) { block in
            UnsafeMutableRawBufferPointer(rebasing: block[..<tail.count]).copyMemory(from: tail)
        }
        pendingCount = tail.count
    }

    /// Pads the message and writes the digest, `Compression.digestByteCount` bytes.
    func finish(into output: UnsafeMutableRawPointer) {
        // FIPS 180-4 §5.1.1: a 1 bit, zeros up to 448 bits mod 512, then the
        // message length in bits as a 64-bit big-endian integer.
        let used = pendingCount
        let bitLength = byteCount &<< 3
        var state = self.state
        var last = pending
        withUnsafeMutableBytes(of: &last) { block in
            block[used] = 0x80
            if used >= 56 {
                // The 8-byte length no longer fits after the 0x80: one more block.
                block[(used + 1)...].initializeMemory(as: UInt8.self, repeating: 0)
                state.compress(blocks: UnsafeRawBufferPointer(block))
                block[..<56].initializeMemory(as: UInt8.self, repeating: 0)
            } else {
                block[(used + 1)..<56].initializeMemory(as: UInt8.self, repeating: 0)
            }
            block.storeBytes(of: bitLength.bigEndian, toByteOffset: 56, as: UInt64.self)
            state.compress(blocks: UnsafeRawBufferPointer(block))
        }
        state.writeDigest(to: output)
    }

    func finish() -> [UInt8] {
        let count = Compression.digestByteCount
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            finish(into: buffer.baseAddress!)
            initialized = count
        }
    }
}
