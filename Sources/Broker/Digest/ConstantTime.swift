public enum ConstantTime {
    /// Byte-wise equality whose running time depends only on the lengths, not
    /// on where the first difference is, so comparing a MAC does not leak how
    /// many leading bytes an attacker guessed right. Lengths are public (a MAC
    /// has a fixed size), so a length mismatch returns at once.
    @inlinable
    public static func equal<A: Collection, B: Collection>(_ a: A, _ b: B) -> Bool
    where A.Element == UInt8, B.Element == UInt8 {
        withContiguousBytes(of: a) { a in
            withContiguousBytes(of: b) { b in equal(a, b) }
        }
    }

    @usableFromInline
    static func equal(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        // Accumulate every difference instead of returning at the first one.
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) {
            difference |= x ^ y
        }
        return difference == 0
    }
}
