extension Parser {
    /// The document is a sequence of lines, each blank, a comment, a header or a key/value
    /// pair, any of the last two optionally followed by a comment.
    mutating func parseDocument() throws(TOMLError) -> TOMLTable {
        var tree = DocumentTree()
        while true {
            skipWhitespace()
            guard let byte = current else { break }
            switch byte {
            case .newline:
                offset += 1
                continue
            case .hash:
                break
            case .openBracket:
                try parseHeader(into: &tree)
            case _ where byte.isBareKeyByte || byte == .quote || byte == .apostrophe:
                let key = try parseKey()
                try expectEquals()
                let value = try parseValue(depth: tree.section.depth + key.count)
                try tree.define(key, value)
            default:
                throw failure("expected a key, a [table] header or a comment", at: offset)
            }
            skipWhitespace()
            skipComment()
            if let byte = current {
                guard byte == .newline else {
                    throw failure("expected the end of the line", at: offset)
                }
                offset += 1
            }
        }
        return tree.root.freeze()
    }

    /// `[key]` or `[[key]]`; the brackets of `[[` and `]]` must be adjacent.
    private mutating func parseHeader(into tree: inout DocumentTree) throws(TOMLError) {
        let isArray = byte(at: offset + 1) == .openBracket
        offset += isArray ? 2 : 1
        skipWhitespace()
        let path = try parseKey()
        guard current == .closeBracket, !isArray || byte(at: offset + 1) == .closeBracket else {
            throw failure(isArray ? "expected ']]' to close the header" : "expected ']' to close the header", at: offset)
        }
        offset += isArray ? 2 : 1
        if isArray {
            try tree.appendTable(path)
        } else {
            try tree.openTable(path)
        }
    }
}
