extension Parser {
    /// At a backslash in a basic string; appends what the escape stands for.
    mutating func parseEscape(into text: inout [UInt8], multiline: Bool) throws(TOMLError) {
        let start = offset
        offset += 1
        guard let letter = current else {
            throw failure("string is not closed", at: start)
        }
        if multiline, letter == .space || letter == .tab || letter == .newline {
            try skipLineEndingBackslash(at: start)
            return
        }
        offset += 1
        switch letter {
        case UInt8(ascii: "b"): text.append(0x08)
        case UInt8(ascii: "t"): text.append(0x09)
        case UInt8(ascii: "n"): text.append(0x0A)
        case UInt8(ascii: "f"): text.append(0x0C)
        case UInt8(ascii: "r"): text.append(0x0D)
        case .quote, .backslash: text.append(letter)
        case UInt8(ascii: "u"): try appendEscapedScalar(hexDigits: 4, escapeAt: start, into: &text)
        case UInt8(ascii: "U"): try appendEscapedScalar(hexDigits: 8, escapeAt: start, into: &text)
        default:
            let shown = (0x21...0x7E).contains(letter) ? " \\" + String(UnicodeScalar(letter)) : ""
            throw failure("invalid escape sequence\(shown)", at: start)
        }
    }

    /// A backslash ending a line of a multi-line basic string drops the line break and all
    /// whitespace and blank lines after it. Only spaces or tabs may sit between it and the break.
    private mutating func skipLineEndingBackslash(at start: Int) throws(TOMLError) {
        skipWhitespace()
        guard current == .newline else {
            throw failure("a backslash followed by whitespace must end the line", at: start)
        }
        while let byte = current, byte == .space || byte == .tab || byte == .newline {
            offset += 1
        }
    }

    /// \uXXXX and \UXXXXXXXX must name a Unicode scalar: surrogates and values past U+10FFFF
    /// cannot be encoded in UTF-8 and are refused.
    private mutating func appendEscapedScalar(hexDigits: Int, escapeAt start: Int, into text: inout [UInt8]) throws(TOMLError) {
        var value: UInt32 = 0
        for _ in 0..<hexDigits {
            guard let digit = current?.hexDigitValue else {
                throw failure("escape needs exactly \(hexDigits) hex digits", at: start)
            }
            value = value << 4 | digit
            offset += 1
        }
        guard let scalar = Unicode.Scalar(value) else {
            throw failure("escape is not a Unicode scalar value (U+\(value.paddedHex))", at: start)
        }
        text += scalar.utf8
    }
}
