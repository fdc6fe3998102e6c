/// HMAC with SHA-256 (RFC 2104 §2, B = 64, L = 32), as HS256 JWTs use it
/// (RFC 7518 §3.2).
public struct HMACSHA256: Sendable {
    // RFC 2104 §4: the hash states after the blocks K ⊕ ipad and K ⊕ opad can
    // be computed once per key. Each message starts from copies, which saves
    // two compressions per MAC.
    private var inner = SHA256()
    private var outer = SHA256()

    @inlinable
    public init<Key: Collection>(key: Key) where Key.Element == UInt8 {
        self = withContiguousBytes(of: key) { HMACSHA256(key: $0) }
    }

    @usableFromInline
    init(key: UnsafeRawBufferPointer) {
        var block = InlineArray<64, UInt8>(repeating: 0)
        withUnsafeMutableBytes(of: &block) { block in
            // RFC 2104 §2: a key longer than B bytes is replaced by its hash;
            // the key is then padded with zeros to B bytes.
            if key.count > block.count {
                var hasher = SHA256()
                hasher.update(key)
                hasher.finalize(into: block.baseAddress!)
            } else {
                block.copyMemory(from: key)
            }
            // RFC 2104 §2: ipad is 0x36 and opad is 0x5C, repeated B times.
            for i in block.indices { block[i] ^= 0x36 }
            inner.update(UnsafeRawBufferPointer(block))
            for i in block.indices { block[i] ^= 0x36 ^ 0x5c }
            outer.update(UnsafeRawBufferPointer(block))
        }
    }

    /// The 32-byte MAC of `message`.
    @inlinable
    public func authenticationCode<Bytes: Collection>(for message: Bytes) -> [UInt8]
    where Bytes.Element == UInt8 {
        withContiguousBytes(of: message) { authenticationCode(for: $0) }
    }

    @usableFromInline
    func authenticationCode(for message: UnsafeRawBufferPointer) -> [UInt8] {
        withCode(for: message) { Array($0) }
    }

    /// Whether `code` is the MAC of `message`. The comparison takes the same
    /// time wherever the bytes differ; a code of the wrong length is rejected.
    @inlinable
    public func isValid<Bytes: Collection, Code: Collection>(_ code: Code, for message: Bytes) -> Bool
    where Bytes.Element == UInt8, Code.Element == UInt8 {
        withContiguousBytes(of: message) { message in
            withContiguousBytes(of: code) { code in isValid(code, for: message) }
        }
    }

    @usableFromInline
    func isValid(_ code: UnsafeRawBufferPointer, for message: UnsafeRawBufferPointer) -> Bool {
        withCode(for: message) { ConstantTime.equal($0, code) }
    }

    /// Computes the MAC into stack memory, so verifying allocates nothing.
    private func withCode<Result>(
        for message: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Result
    ) -> Result {
        withUnsafeTemporaryAllocation(byteCount: 32, alignment: 1) { code in
            var inner = self.inner
            inner.update(message)
            inner.finalize(into: code.baseAddress!)
            var outer = self.outer
            outer.update(UnsafeRawBufferPointer(code))
            outer.finalize(into: code.baseAddress!)
            return body(UnsafeRawBufferPointer(code))
        }
    }
}
