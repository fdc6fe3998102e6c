/// The reading state the grammar files share: checked bytes and the offset being read.
struct Parser {
    /// Deepest level a value or table may sit below the root. Parsing and the later tree
    /// walks recurse once per level, so a cap keeps hostile nesting from overflowing the stack.
    static let maxDepth = 128

    let bytes: [UInt8]
    private var source: Source
    var offset = 0

    init(checking input: [UInt8]) throws(TOMLError) {
        source = try Source(checking: input)
        bytes = source.bytes
    }

    var current: UInt8? { offset < bytes.count ? bytes[offset] : nil }

    func byte(at index: Int) -> UInt8? { index < bytes.count ? bytes[index] : nil }

    /// Whether `byte` repeats three times from the offset: the multi-line string delimiters.
    func atTriple(_ byte: UInt8) -> Bool {
        offset + 2 < bytes.count && bytes[offset] == byte && bytes[offset + 1] == byte && bytes[offset + 2] == byte
    }

    mutating func position(at offset: Int) -> TOMLPosition {
        source.position(at: offset)
    }

    mutating func failure(_ message: String, at offset: Int) -> TOMLError {
        TOMLError(position: position(at: offset), message: message)
    }

    mutating func skipWhitespace() {
        while let byte = current, byte == .space || byte == .tab {
            offset += 1
        }
    }

    mutating func skipComment() {
        guard current == .hash else { return }
        while let byte = current, byte != .newline {
            offset += 1
        }
    }

    /// Inside arrays values may be spread over lines with comments between them.
    mutating func skipWhitespaceCommentsAndNewlines() {
        while true {
            skipWhitespace()
            skipComment()
            guard current == .newline else { return }
            offset += 1
        }
    }
}
