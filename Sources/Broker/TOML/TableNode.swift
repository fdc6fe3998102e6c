/// A table while the document is being read: a reference, so headers can reopen it later,
/// with the state the redefinition rules need. `freeze()` turns it into a TOMLTable.
final class TableNode {
    /// What a key holds. Inline tables and arrays are plain values: complete as written,
    /// so headers and dotted keys can never reach inside them.
    enum Slot {
        case value(TOMLValue)
        case table(TableNode)
        case tables(TableArray)
    }

    /// What defined a table for good: its own [header], or dotted keys of a section that has
    /// since ended. Once defined, neither a header nor dotted keys may define it again.
    enum Definition {
        case header
        case dottedKeys
    }

    let depth: Int
    var definition: Definition?
    private var entries: [(name: String, slot: Slot, position: TOMLPosition)] = []
    private var indexByName: [ExactKey: Int] = [:]

    init(depth: Int) {
        self.depth = depth
    }

    func slot(_ name: String) -> Slot? {
        indexByName[ExactKey(name)].map { entries[$0].slot }
    }

    func addTable(_ part: KeyPart) throws(TOMLError) -> TableNode {
        let table = TableNode(depth: try Self.checkedDepth(depth + 1, at: part))
        add(part, .table(table))
        return table
    }

    /// `[[part]]` met for the first time: the array and its first element.
    func addTableArray(_ part: KeyPart) throws(TOMLError) -> TableNode {
        let array = TableArray(depth: depth + 1)
        add(part, .tables(array))
        return try array.append(at: part)
    }

    /// `key = value` relative to this table. Dotted prefixes create or enter tables, which are
    /// reported in `touched` so the caller can seal them when the section ends.
    func insert(_ key: [KeyPart], _ value: TOMLValue, touching touched: inout [TableNode]) throws(TOMLError) {
        var table = self
        for (i, part) in key.dropLast().enumerated() {
            switch table.slot(part.name) {
            case nil:
                table = try table.addTable(part)
            case .table(let existing)?:
                guard existing.definition == nil else {
                    throw TOMLError(position: part.position, message: "table \(key[...i].dotted) is already defined; dotted keys cannot add to it")
                }
                table = existing
            case .tables?:
                throw TOMLError(position: part.position, message: "\(key[...i].dotted) is an array of tables; dotted keys cannot add to it")
            case .value(let value)?:
                throw TOMLError(position: part.position, message: Self.notATable(value, key[...i].dotted))
            }
            touched.append(table)
        }
        let last = key[key.count - 1]
        guard table.slot(last.name) == nil else {
            throw TOMLError(position: last.position, message: "key \(key.dotted) is already defined")
        }
        table.add(last, .value(value))
    }

    func freeze() -> TOMLTable {
        TOMLTable(entries: entries.map { ($0.name, $0.slot.frozen) }, positions: entries.map(\.position))
    }

    /// Why a header or dotted key cannot go through the value held at `path`.
    static func notATable(_ value: TOMLValue, _ path: String) -> String {
        switch value {
        case .table: "inline table \(path) cannot be extended"
        case .array: "\(path) is an array value; it cannot be extended"
        default: "key \(path) already holds a value"
        }
    }

    static func checkedDepth(_ depth: Int, at part: KeyPart) throws(TOMLError) -> Int {
        guard depth <= Parser.maxDepth else {
            throw TOMLError(position: part.position, message: "nesting deeper than \(Parser.maxDepth) levels")
        }
        return depth
    }

    private func add(_ part: KeyPart, _ slot: Slot) {
        indexByName[ExactKey(part.name)] = entries.count
        entries.append((part.name, slot, part.position))
    }
}

/// The tables of `[[name]]` headers; each header appends one, and later headers and keys
/// go into the newest.
final class TableArray {
    let depth: Int
    private(set) var elements: [TableNode] = []

    init(depth: Int) {
        self.depth = depth
    }

    var newest: TableNode { elements[elements.count - 1] }

    func append(at part: KeyPart) throws(TOMLError) -> TableNode {
        let table = TableNode(depth: try TableNode.checkedDepth(depth + 1, at: part))
        elements.append(table)
        return table
    }
}

extension TableNode.Slot {
    var frozen: TOMLValue {
        switch self {
        case .value(let value): value
        case .table(let table): .table(table.freeze())
        case .tables(let array): .array(array.elements.map { .table($0.freeze()) })
        }
    }
}
