import NIOCore

/// Strict UTF-8 validation of a message that arrives in pieces (the fragments of a text
/// message). It fails on the first byte that no continuation could make valid, so a
/// fragmented text message is refused at the fragment that breaks it (RFC 6455 §8.1 asks to
/// fail fast), not only when its last fragment arrives. The rules are those of
/// `UTF8Validation`: no overlongs, no surrogates, nothing past U+10FFFF.
package struct UTF8StreamValidator {
    /// Continuation bytes the current code point still needs.
    private var needed = 0
    /// Bounds for the next continuation byte; only the first one after a lead is narrowed.
    private var lower: UInt8 = 0x80
    private var upper: UInt8 = 0xBF

    package init() {}

    /// False as soon as the bytes seen so far cannot begin valid UTF-8.
    package mutating func feed(_ buffer: ByteBuffer) -> Bool {
        buffer.withUnsafeReadableBytes { feed($0) }
    }

    package mutating func feed(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        let count = bytes.count
        while index < count {
            // Most payloads are ASCII: skip eight bytes at a time while no code point is open.
            if needed == 0 {
                while index + 8 <= count && bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                    index += 8
                }
                guard index < count else { break }
            }
            let byte = bytes[index]
            index += 1
            if needed > 0 {
                guard byte >= lower && byte <= upper else { return false }
                needed -= 1
                lower = 0x80
                upper = 0xBF
                continue
            }
            if byte < 0x80 { continue }
            switch byte {
            case 0xC2...0xDF: needed = 1
            case 0xE0: needed = 2; lower = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: needed = 2
            case 0xED: needed = 2; upper = 0x9F
            case 0xF0: needed = 3; lower = 0x90
            case 0xF1...0xF3: needed = 3
            case 0xF4: needed = 3; upper = 0x8F
            default: return false
            }
        }
        return true
    }

    /// True when no code point is left unfinished: the message may end here.
    package var isComplete: Bool { needed == 0 }
}
