/// A document's checked bytes, and the translation of byte offsets into lines and columns.
struct Source {
    let bytes: [UInt8]
    /// Offset where each line starts: line N starts at lineStarts[N - 1].
    private let lineStarts: [Int]
    /// Positions are mostly asked for in reading order; counting on from the previous answer
    /// keeps the total cost linear even when a hostile document is one enormous line.
    private var previous = (offset: 0, line: 1, column: 1)

    init(bytes: [UInt8], lineStarts: [Int]) {
        self.bytes = bytes
        self.lineStarts = lineStarts
    }

    mutating func position(at offset: Int) -> TOMLPosition {
        var (line, from, column) = (previous.line, previous.offset, previous.column)
        if offset < previous.offset || offset >= start(ofLine: line + 1) {
            line = lineNumber(containing: offset)
            from = start(ofLine: line)
            column = 1
        }
        for i in from..<offset where !bytes[i].isUTF8Continuation {
            column += 1
        }
        previous = (offset, line, column)
        return TOMLPosition(line: line, column: column)
    }

    private func start(ofLine line: Int) -> Int {
        line <= lineStarts.count ? lineStarts[line - 1] : Int.max
    }

    private func lineNumber(containing offset: Int) -> Int {
        var (low, high) = (0, lineStarts.count - 1)
        while low < high {
            let middle = (low + high + 1) / 2
            if lineStarts[middle] <= offset { low = middle } else { high = middle - 1 }
        }
        return low + 1
    }
}
