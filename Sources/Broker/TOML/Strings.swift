/// The four string forms. Input is already checked for control characters and bad UTF-8,
/// so these only follow delimiters, newlines and escapes.
extension Parser {
    /// At an opening quote or apostrophe.
    mutating func parseString() throws(TOMLError) -> String {
        if current == .quote {
            return atTriple(.quote) ? try parseMultilineBasicString() : try parseBasicString()
        }
        return atTriple(.apostrophe) ? try parseMultilineLiteralString() : try parseLiteralString()
    }

    mutating func parseBasicString() throws(TOMLError) -> String {
        let open = offset
        offset += 1
        var text: [UInt8] = []
        var runStart = offset
        while let byte = current, byte != .newline {
            switch byte {
            case .quote:
                text += bytes[runStart..<offset]
                offset += 1
                return String(decoding: text, as: UTF8.self)
            case .backslash:
                text += bytes[runStart..<offset]
                try parseEscape(into: &text, multiline: false)
                runStart = offset
            default:
                offset += 1
            }
        }
        throw failure("string is not closed on its line", at: open)
    }

    mutating func parseLiteralString() throws(TOMLError) -> String {
        let open = offset
        offset += 1
        let start = offset
        while let byte = current, byte != .apostrophe, byte != .newline {
            offset += 1
        }
        guard current == .apostrophe else {
            throw failure("literal string is not closed on its line", at: open)
        }
        offset += 1
        return String(decoding: bytes[start..<offset - 1], as: UTF8.self)
    }

    private mutating func parseMultilineBasicString() throws(TOMLError) -> String {
        let open = offset
        offset += 3
        skipNewlineAfterDelimiter()
        var text: [UInt8] = []
        var runStart = offset
        while let byte = current {
            if byte == .quote, atTriple(.quote) {
                text += bytes[runStart..<offset]
                offset += 3
                takeQuotesBeforeDelimiter(.quote, into: &text)
                return String(decoding: text, as: UTF8.self)
            }
            if byte == .backslash {
                text += bytes[runStart..<offset]
                try parseEscape(into: &text, multiline: true)
                runStart = offset
            } else {
                offset += 1
            }
        }
        throw failure("multi-line string is not closed", at: open)
    }

    private mutating func parseMultilineLiteralString() throws(TOMLError) -> String {
        let open = offset
        offset += 3
        skipNewlineAfterDelimiter()
        let start = offset
        while current != nil, !atTriple(.apostrophe) {
            offset += 1
        }
        guard current != nil else {
            throw failure("multi-line literal string is not closed", at: open)
        }
        var text = Array(bytes[start..<offset])
        offset += 3
        takeQuotesBeforeDelimiter(.apostrophe, into: &text)
        return String(decoding: text, as: UTF8.self)
    }

    /// A newline right after the opening delimiter is trimmed, so content can start on its own line.
    private mutating func skipNewlineAfterDelimiter() {
        if current == .newline {
            offset += 1
        }
    }

    /// The first three quotes found close the string, so one or two more right after them
    /// were content: `"""a"""""` is `a""`.
    private mutating func takeQuotesBeforeDelimiter(_ quote: UInt8, into text: inout [UInt8]) {
        for _ in 0..<2 where current == quote {
            text.append(quote)
            offset += 1
        }
    }
}
