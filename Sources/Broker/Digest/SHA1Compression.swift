/// SHA-1 hash state and compression function, FIPS 180-4 §6.1.2 (RFC 3174 §6.1).
struct SHA1Compression: BlockCompression {
    static var digestByteCount: Int { 20 }

    // FIPS 180-4 §5.3.1 (RFC 3174 §6.1 H0-H4).
    private var h0: UInt32 = 0x6745_2301
    private var h1: UInt32 = 0xefcd_ab89
    private var h2: UInt32 = 0x98ba_dcfe
    private var h3: UInt32 = 0x1032_5476
    private var h4: UInt32 = 0xc3d2_e1f0

    init() {}

    mutating func compress(blocks: UnsafeRawBufferPointer) {
        // Locals, so the state stays in registers across all blocks.
        var (h0, h1, h2, h3, h4) = (self.h0, self.h1, self.h2, self.h3, self.h4)
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 80) { w in
            for offset in stride(from: 0, to: blocks.count, by: 64) {
                // §6.1.2 step 1: the message schedule.
                for t in 0..<16 {
                    w[t] = blocks.loadUnaligned(fromByteOffset: offset + 4 * t, as: UInt32.self).bigEndian
                }
                for t in 16..<80 {
                    w[t] = rotateLeft(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1)
                }

                // §6.1.2 steps 2-3. The round function f and constant K change
                // every 20 rounds (§4.1.1, §4.2.1), hence four loops.
                var (a, b, c, d, e) = (h0, h1, h2, h3, h4)
                func round(_ t: Int, _ f: UInt32, _ k: UInt32) {
                    let temp = rotateLeft(a, 5) &+ f &+ e &+ k &+ w[t]
                    (e, d, c, b, a) = (d, c, rotateLeft(b, 30), a, temp)
                }
                for t in 0..<20 { round(t, (b & c) | (~b & d), 0x5a82_7999) }
                for t in 20..<40 { round(t, b ^ c ^ d, 0x6ed9_eba1) }
                for t in 40..<60 { round(t, (b & c) | (b & d) | (c & d), 0x8f1b_bcdc) }
                for t in 60..<80 { round(t, b ^ c ^ d, 0xca62_c1d6) }

                // §6.1.2 step 4.
                h0 &+= a; h1 &+= b; h2 &+= c; h3 &+= d; h4 &+= e
            }
        }
        (self.h0, self.h1, self.h2, self.h3, self.h4) = (h0, h1, h2, h3, h4)
    }

    func writeDigest(to output: UnsafeMutableRawPointer) {
        output.storeBytes(of: h0.bigEndian, toByteOffset: 0, as: UInt32.self)
        output.storeBytes(of: h1.bigEndian, toByteOffset: 4, as: UInt32.self)
        output.storeBytes(of: h2.bigEndian, toByteOffset: 8, as: UInt32.self)
        output.storeBytes(of: h3.bigEndian, toByteOffset: 12, as: UInt32.self)
        output.storeBytes(of: h4.bigEndian, toByteOffset: 16, as: UInt32.self)
    }
}

// FIPS 180-4 §3.2: ROTL as a pair of shifts. Masking shifts (&<<, &>>) skip
// Swift's over-shift handling, so LLVM folds the pair into one rotate. Kept
// private to this file so it is inlined even without whole-module optimization.
@inline(__always)
private func rotateLeft(_ x: UInt32, _ n: UInt32) -> UInt32 {
    (x &<< n) | (x &>> (32 &- n))
}
