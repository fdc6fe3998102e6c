/// Names for the bytes the grammar mentions, so `switch` cases read like the TOML spec.
extension UInt8 {
    static var tab: UInt8 { 0x09 }
    static var newline: UInt8 { 0x0A }
    static var carriageReturn: UInt8 { 0x0D }
    static var space: UInt8 { 0x20 }
    static var quote: UInt8 { 0x22 }
    static var hash: UInt8 { 0x23 }
    static var apostrophe: UInt8 { 0x27 }
    static var plus: UInt8 { 0x2B }
    static var comma: UInt8 { 0x2C }
    static var minus: UInt8 { 0x2D }
    static var dot: UInt8 { 0x2E }
    static var colon: UInt8 { 0x3A }
    static var equals: UInt8 { 0x3D }
    static var openBracket: UInt8 { 0x5B }
    static var backslash: UInt8 { 0x5C }
    static var closeBracket: UInt8 { 0x5D }
    static var underscore: UInt8 { 0x5F }
    static var openBrace: UInt8 { 0x7B }
    static var closeBrace: UInt8 { 0x7D }

    var isDigit: Bool { (0x30...0x39).contains(self) }

    var isLetter: Bool { (0x41...0x5A).contains(self) || (0x61...0x7A).contains(self) }

    var hexDigitValue: UInt32? {
        switch self {
        case 0x30...0x39: UInt32(self - 0x30)
        case 0x41...0x46: UInt32(self - 0x41 + 10)
        case 0x61...0x66: UInt32(self - 0x61 + 10)
        default: nil
        }
    }

    /// A-Z a-z 0-9 - _
    var isBareKeyByte: Bool { isLetter || isDigit || self == .minus || self == .underscore }

    /// The bytes a boolean, integer or float can be spelled with.
    var isBareValueByte: Bool { isBareKeyByte || self == .plus || self == .dot }

    /// Lead bytes of multi-byte UTF-8 sequences count as one column; continuation bytes don't.
    var isUTF8Continuation: Bool { self & 0xC0 == 0x80 }
}

extension UInt32 {
    /// Uppercase hex padded to four digits, as U+XXXX and \uXXXX spell code points.
    var paddedHex: String {
        let hex = String(self, radix: 16, uppercase: true)
        return String(repeating: "0", count: Swift.max(0, 4 - hex.count)) + hex
    }
}
