/// TOML's integer and float grammar, judged on a whole token (toml.io/en/v1.0.0#integer).
enum NumberSyntax {
    enum Reading: Equatable {
        case integer(Int64)
        case float(Double)
        case outOfRange
        case invalid
    }

    static func read(_ token: [UInt8]) -> Reading {
        if let special = specialFloat(token) {
            return .float(special)
        }
        if token.count > 2, token[0] == UInt8(ascii: "0"), let radix = radix(token[1]) {
            return prefixedInteger(token, radix: radix)
        }
        var i = token.first == .plus || token.first == .minus ? 1 : 0
        guard i < token.count, token[i].isDigit else { return .invalid }
        // Leading zeros are refused by letting "0" end the integer part: what follows won't fit.
        i = token[i] == UInt8(ascii: "0") ? i + 1 : digitRun(token, from: i, radix: 10)!
        if i == token.count {
            return decimalInteger(token)
        }
        if token[i] == .dot {
            guard let end = digitRun(token, from: i + 1, radix: 10) else { return .invalid }
            i = end
        }
        if i < token.count, token[i] == UInt8(ascii: "e") || token[i] == UInt8(ascii: "E") {
            i += 1
            if i < token.count, token[i] == .plus || token[i] == .minus {
                i += 1
            }
            guard let end = digitRun(token, from: i, radix: 10) else { return .invalid }
            i = end
        }
        guard i == token.count else { return .invalid }
        // The grammar is checked, so stdlib's decimal conversion (correctly rounded) only
        // needs the underscores gone; overflow becomes ±infinity as in other TOML readers.
        let digits = String(decoding: token.filter { $0 != .underscore }, as: UTF8.self)
        return Double(digits).map(Reading.float) ?? .invalid
    }

    private static func specialFloat(_ token: [UInt8]) -> Double? {
        switch String(decoding: token, as: UTF8.self) {
        case "inf", "+inf": .infinity
        case "-inf": -.infinity
        case "nan", "+nan", "-nan": .nan
        default: nil
        }
    }

    private static func radix(_ letter: UInt8) -> Int64? {
        switch letter {
        case UInt8(ascii: "x"): 16
        case UInt8(ascii: "o"): 8
        case UInt8(ascii: "b"): 2
        default: nil
        }
    }

    private static func digitValue(_ byte: UInt8, radix: Int64) -> Int64? {
        guard let value = byte.hexDigitValue, Int64(value) < radix else { return nil }
        return Int64(value)
    }

    /// End of a run of digits with single underscores between them, or nil when no digit
    /// starts it. An underscore not followed by a digit ends the run and so fails the token.
    private static func digitRun(_ token: [UInt8], from start: Int, radix: Int64) -> Int? {
        guard start < token.count, digitValue(token[start], radix: radix) != nil else { return nil }
        var i = start + 1
        while i < token.count {
            if digitValue(token[i], radix: radix) != nil {
                i += 1
            } else if token[i] == .underscore, i + 1 < token.count, digitValue(token[i + 1], radix: radix) != nil {
                i += 2
            } else {
                break
            }
        }
        return i
    }

    /// 0x, 0o and 0b integers: unsigned in TOML, so they must fit below Int64.max.
    private static func prefixedInteger(_ token: [UInt8], radix: Int64) -> Reading {
        guard digitRun(token, from: 2, radix: radix) == token.count else { return .invalid }
        return accumulate(token[2...], radix: radix, negative: false)
    }

    private static func decimalInteger(_ token: [UInt8]) -> Reading {
        let negative = token[0] == .minus
        let hasSign = negative || token[0] == .plus
        return accumulate(token[(hasSign ? 1 : 0)...], radix: 10, negative: negative)
    }

    /// Negative values are built downwards so that Int64.min, which has no positive twin, fits.
    private static func accumulate(_ digits: ArraySlice<UInt8>, radix: Int64, negative: Bool) -> Reading {
        var value: Int64 = 0
        for byte in digits where byte != .underscore {
            let digit = digitValue(byte, radix: radix)!
            let (shifted, overflowA) = value.multipliedReportingOverflow(by: radix)
            let (next, overflowB) =
                negative
                ? shifted.subtractingReportingOverflow(digit)
                : shifted.addingReportingOverflow(digit)
            if overflowA || overflowB {
                return .outOfRange
            }
            value = next
        }
        return .integer(value)
    }
}
