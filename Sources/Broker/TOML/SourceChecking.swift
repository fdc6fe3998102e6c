extension Source {
    /// Refuses, before any grammar, what TOML forbids everywhere: invalid UTF-8, a carriage
    /// return without its line feed, and control characters other than tab and line feed
    /// (illegal in strings and comments, and never a token between them). CRLF is folded to
    /// LF, which keeps every line and column as written and spares the grammar two spellings.
    init(checking input: [UInt8]) throws(TOMLError) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(input.count)
        var lineStarts = [0]
        var i = 0
        func refuse(_ message: String) -> TOMLError {
            var partial = Source(bytes: bytes, lineStarts: lineStarts)
            return TOMLError(position: partial.position(at: bytes.count), message: message)
        }
        while i < input.count {
            let byte = input[i]
            if byte >= 0x80 {
                guard let length = Self.scalarLength(input, at: i) else {
                    throw refuse("invalid UTF-8")
                }
                bytes += input[i..<i + length]
                i += length
                continue
            }
            switch byte {
            case .carriageReturn:
                guard i + 1 < input.count, input[i + 1] == .newline else {
                    throw refuse("carriage return not followed by a line feed")
                }
            case .newline:
                bytes.append(byte)
                lineStarts.append(bytes.count)
            case .tab:
                bytes.append(byte)
            case 0x00..<0x20, 0x7F:
                throw refuse("control character U+\(UInt32(byte).paddedHex) is not allowed; escape it in a basic string")
            default:
                bytes.append(byte)
            }
            i += 1
        }
        self.init(bytes: bytes, lineStarts: lineStarts)
    }

    /// Length of the well-formed UTF-8 sequence at `i`, or nil. The narrowed second-byte
    /// ranges are what exclude overlong forms, surrogates and code points above U+10FFFF.
    private static func scalarLength(_ input: [UInt8], at i: Int) -> Int? {
        let length: Int
        var second: ClosedRange<UInt8> = 0x80...0xBF
        switch input[i] {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; second = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; second = 0x80...0x9F
        case 0xF0: length = 4; second = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; second = 0x80...0x8F
        default: return nil
        }
        guard i + length <= input.count, second.contains(input[i + 1]) else { return nil }
        for k in 2..<length where !input[i + k].isUTF8Continuation {
            return nil
        }
        return length
    }
}
