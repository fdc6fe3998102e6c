/// SHA-256 hash state and compression function, FIPS 180-4 §6.2.2.
struct SHA256Compression: BlockCompression {
    static var digestByteCount: Int { 32 }

    // FIPS 180-4 §5.3.3: first 32 bits of the fractional parts of the square
    // roots of the first eight primes. Stored words, not an array, so a hash
    // value is plain inline data that copies without touching the heap.
    private var h0: UInt32 = 0x6a09_e667
    private var h1: UInt32 = 0xbb67_ae85
    private var h2: UInt32 = 0x3c6e_f372
    private var h3: UInt32 = 0xa54f_f53a
    private var h4: UInt32 = 0x510e_527f
    private var h5: UInt32 = 0x9b05_688c
    private var h6: UInt32 = 0x1f83_d9ab
    private var h7: UInt32 = 0x5be0_cd19

    init() {}

    // FIPS 180-4 §4.2.2: first 32 bits of the fractional parts of the cube
    // roots of the first sixty-four primes.
    private static let k: [UInt32] = [
        0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
        0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174,
        0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
        0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7, 0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
        0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85,
        0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
        0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
        0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
    ]

    mutating func compress(blocks: UnsafeRawBufferPointer) {
        // Locals, so the state stays in registers across all blocks.
        var (h0, h1, h2, h3) = (self.h0, self.h1, self.h2, self.h3)
        var (h4, h5, h6, h7) = (self.h4, self.h5, self.h6, self.h7)
        Self.k.withUnsafeBufferPointer { k in
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
                for offset in stride(from: 0, to: blocks.count, by: 64) {
                    // §6.2.2 step 1: the message schedule.
                    for t in 0..<16 {
                        w[t] = blocks.loadUnaligned(fromByteOffset: offset + 4 * t, as: UInt32.self).bigEndian
                    }
                    for t in 16..<64 {
                        w[t] = smallSigma1(w[t - 2]) &+ w[t - 7] &+ smallSigma0(w[t - 15]) &+ w[t - 16]
                    }

                    // §6.2.2 steps 2-3. Eight rounds per iteration with the roles
                    // of a...h rotated in the argument lists, instead of shifting
                    // eight values every round: about 12% faster.
                    var (a, b, c, d, e, f, g, h) = (h0, h1, h2, h3, h4, h5, h6, h7)
                    for t in stride(from: 0, to: 64, by: 8) {
                        round(a, b, c, &d, e, f, g, &h, k[t] &+ w[t])
                        round(h, a, b, &c, d, e, f, &g, k[t + 1] &+ w[t + 1])
                        round(g, h, a, &b, c, d, e, &f, k[t + 2] &+ w[t + 2])
                        round(f, g, h, &a, b, c, d, &e, k[t + 3] &+ w[t + 3])
                        round(e, f, g, &h, a, b, c, &d, k[t + 4] &+ w[t + 4])
                        round(d, e, f, &g, h, a, b, &c, k[t + 5] &+ w[t + 5])
                        round(c, d, e, &f, g, h, a, &b, k[t + 6] &+ w[t + 6])
                        round(b, c, d, &e, f, g, h, &a, k[t + 7] &+ w[t + 7])
                    }

                    // §6.2.2 step 4.
                    h0 &+= a; h1 &+= b; h2 &+= c; h3 &+= d
                    h4 &+= e; h5 &+= f; h6 &+= g; h7 &+= h
                }
            }
        }
        (self.h0, self.h1, self.h2, self.h3) = (h0, h1, h2, h3)
        (self.h4, self.h5, self.h6, self.h7) = (h4, h5, h6, h7)
    }

    func writeDigest(to output: UnsafeMutableRawPointer) {
        output.storeBytes(of: h0.bigEndian, toByteOffset: 0, as: UInt32.self)
        output.storeBytes(of: h1.bigEndian, toByteOffset: 4, as: UInt32.self)
        output.storeBytes(of: h2.bigEndian, toByteOffset: 8, as: UInt32.self)
        output.storeBytes(of: h3.bigEndian, toByteOffset: 12, as: UInt32.self)
        output.storeBytes(of: h4.bigEndian, toByteOffset: 16, as: UInt32.self)
        output.storeBytes(of: h5.bigEndian, toByteOffset: 20, as: UInt32.self)
        output.storeBytes(of: h6.bigEndian, toByteOffset: 24, as: UInt32.self)
        output.storeBytes(of: h7.bigEndian, toByteOffset: 28, as: UInt32.self)
    }
}

// FIPS 180-4 §3.2: ROTR as a pair of shifts. Masking shifts (&>>, &<<) skip
// Swift's over-shift handling, so LLVM folds the pair into one rotate. Kept
// private to this file so it is inlined even without whole-module optimization.
@inline(__always)
private func rotateRight(_ x: UInt32, _ n: UInt32) -> UInt32 {
    (x &>> n) | (x &<< (32 &- n))
}

// FIPS 180-4 §4.1.2, equations 4.2-4.7.

@inline(__always)
private func choose(_ x: UInt32, _ y: UInt32, _ z: UInt32) -> UInt32 { (x & y) ^ (~x & z) }

@inline(__always)
private func majority(_ x: UInt32, _ y: UInt32, _ z: UInt32) -> UInt32 { (x & y) ^ (x & z) ^ (y & z) }

@inline(__always)
private func bigSigma0(_ x: UInt32) -> UInt32 {
    rotateRight(x, 2) ^ rotateRight(x, 13) ^ rotateRight(x, 22)
}

@inline(__always)
private func bigSigma1(_ x: UInt32) -> UInt32 {
    rotateRight(x, 6) ^ rotateRight(x, 11) ^ rotateRight(x, 25)
}

@inline(__always)
private func smallSigma0(_ x: UInt32) -> UInt32 {
    rotateRight(x, 7) ^ rotateRight(x, 18) ^ (x &>> 3)
}

@inline(__always)
private func smallSigma1(_ x: UInt32) -> UInt32 {
    rotateRight(x, 17) ^ rotateRight(x, 19) ^ (x &>> 10)
}

/// One round of FIPS 180-4 §6.2.2 step 3, in the form where only d and h
/// change: d becomes the next e, h the next a.
@inline(__always)
private func round(
    _ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: inout UInt32,
    _ e: UInt32, _ f: UInt32, _ g: UInt32, _ h: inout UInt32, _ kw: UInt32
) {
    let t1 = h &+ bigSigma1(e) &+ choose(e, f, g) &+ kw
    d &+= t1
    h = t1 &+ bigSigma0(a) &+ majority(a, b, c)
}
