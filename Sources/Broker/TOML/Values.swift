extension Parser {
    /// A value whose slot sits `depth` levels below the root.
    mutating func parseValue(depth: Int) throws(TOMLError) -> TOMLValue {
        guard depth <= Self.maxDepth else {
            throw failure("nesting deeper than \(Self.maxDepth) levels", at: offset)
        }
        switch current {
        case .quote?, .apostrophe?: return .string(try parseString())
        case .openBracket?: return try parseArray(depth: depth)
        case .openBrace?: return try parseInlineTable(depth: depth)
        default: return try parseBareValue()
        }
    }

    /// Booleans and numbers share one token shape. Reading the whole token before judging it
    /// gives one clear error for `1__2` or `0x_1` instead of a valid prefix and a stray rest.
    private mutating func parseBareValue() throws(TOMLError) -> TOMLValue {
        let start = offset
        if looksLikeDateOrTime() {
            throw failure("dates and times are not supported", at: start)
        }
        while let byte = current, byte.isBareValueByte {
            offset += 1
        }
        let token = Array(bytes[start..<offset])
        switch token {
        case []: throw failure("expected a value", at: start)
        case Array("true".utf8): return .boolean(true)
        case Array("false".utf8): return .boolean(false)
        default: break
        }
        switch NumberSyntax.read(token) {
        case .integer(let value): return .integer(value)
        case .float(let value): return .float(value)
        case .outOfRange: throw failure("integer does not fit in 64 bits", at: start)
        case .invalid:
            let shown = String(decoding: token.prefix(40), as: UTF8.self) + (token.count > 40 ? "..." : "")
            throw failure("invalid value \(shown)", at: start)
        }
    }

    /// Every TOML date starts YYYY-MM-DD and every time HH:MM; no number can, so refusing
    /// on these shapes never refuses a valid number.
    private func looksLikeDateOrTime() -> Bool {
        func digits(_ from: Int, _ count: Int) -> Bool {
            (from..<from + count).allSatisfy { byte(at: $0)?.isDigit == true }
        }
        let date =
            digits(offset, 4) && byte(at: offset + 4) == .minus && digits(offset + 5, 2)
            && byte(at: offset + 7) == .minus && digits(offset + 8, 2)
        let time = digits(offset, 2) && byte(at: offset + 2) == .colon && digits(offset + 3, 2)
        return date || time
    }

    /// Arrays may span lines, hold comments and end with a comma.
    private mutating func parseArray(depth: Int) throws(TOMLError) -> TOMLValue {
        let open = offset
        offset += 1
        var elements: [TOMLValue] = []
        while true {
            skipWhitespaceCommentsAndNewlines()
            if current == .closeBracket {
                offset += 1
                return .array(elements)
            }
            elements.append(try parseValue(depth: depth + 1))
            skipWhitespaceCommentsAndNewlines()
            switch current {
            case .comma?:
                offset += 1
            case .closeBracket?:
                offset += 1
                return .array(elements)
            case nil:
                throw failure("array is not closed", at: open)
            default: throw failure("expected ',' or ']' after an array element", at: offset)
            }
        }
    }

    /// Inline tables stay on one line, take no trailing comma, and are complete once closed:
    /// their tables become values that nothing later may extend.
    private mutating func parseInlineTable(depth: Int) throws(TOMLError) -> TOMLValue {
        offset += 1
        let table = TableNode(depth: depth)
        skipWhitespace()
        if current == .closeBrace {
            offset += 1
            return .table(table.freeze())
        }
        // An inline table is one section, never reopened, so what dotted keys touch needs no sealing.
        var dottedTables: [TableNode] = []
        while true {
            if current == .newline || current == nil {
                throw failure("inline table must be closed with '}' on the same line", at: offset)
            }
            let key = try parseKey()
            try expectEquals()
            let value = try parseValue(depth: depth + key.count)
            try table.insert(key, value, touching: &dottedTables)
            skipWhitespace()
            switch current {
            case .closeBrace?:
                offset += 1
                return .table(table.freeze())
            case .comma?:
                offset += 1
                skipWhitespace()
                if current == .closeBrace {
                    throw failure("trailing comma is not allowed in an inline table", at: offset)
                }
            case .newline?, nil:
                throw failure("inline table must be closed with '}' on the same line", at: offset)
            default:
                throw failure("expected ',' or '}' after an inline table entry", at: offset)
            }
        }
    }

    /// The '=' of a key/value pair and the whitespace after it.
    mutating func expectEquals() throws(TOMLError) {
        guard current == .equals else {
            throw failure("expected '=' after the key", at: offset)
        }
        offset += 1
        skipWhitespace()
    }
}
