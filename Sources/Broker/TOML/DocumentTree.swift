/// The document's tables while it is read, the section keys currently go to, and TOML's
/// rules on which [header], [[header]] or dotted key may create or reopen which table.
struct DocumentTree {
    let root = TableNode(depth: 0)
    private(set) var section: TableNode
    /// Tables dotted keys created or went through in this section: still open to more dotted
    /// keys here, defined for good when the next header starts a new section.
    private var touchedByDottedKeys: [TableNode] = []

    init() {
        section = root
    }

    mutating func define(_ key: [KeyPart], _ value: TOMLValue) throws(TOMLError) {
        try section.insert(key, value, touching: &touchedByDottedKeys)
    }

    /// [path]: defines a table once, though it may already exist implicitly as a parent of
    /// an earlier header.
    mutating func openTable(_ path: [KeyPart]) throws(TOMLError) {
        startSection()
        let parent = try parentTable(of: path)
        let last = path[path.count - 1]
        switch parent.slot(last.name) {
        case nil:
            section = try parent.addTable(last)
        case .table(let table)?:
            switch table.definition {
            case nil: break
            case .header?:
                throw TOMLError(position: last.position, message: "table [\(path.dotted)] is already defined")
            case .dottedKeys?:
                throw TOMLError(position: last.position, message: "table [\(path.dotted)] is already defined by dotted keys")
            }
            section = table
        case .tables?:
            throw TOMLError(position: last.position, message: "[\(path.dotted)] is already an array of tables")
        case .value(let value)?:
            throw TOMLError(position: last.position, message: TableNode.notATable(value, path.dotted))
        }
        section.definition = .header
    }

    /// [[path]]: starts a new table in the array of tables, creating the array if needed.
    mutating func appendTable(_ path: [KeyPart]) throws(TOMLError) {
        startSection()
        let parent = try parentTable(of: path)
        let last = path[path.count - 1]
        switch parent.slot(last.name) {
        case nil:
            section = try parent.addTableArray(last)
        case .tables(let array)?:
            section = try array.append(at: last)
        case .table?:
            throw TOMLError(position: last.position, message: "[\(path.dotted)] is already a table, not an array of tables")
        case .value(let value)?:
            throw TOMLError(position: last.position, message: TableNode.notATable(value, path.dotted))
        }
    }

    private mutating func startSection() {
        for table in touchedByDottedKeys {
            table.definition = .dottedKeys
        }
        touchedByDottedKeys.removeAll()
    }

    /// Walks a header's path to the table that will hold its last part, creating the missing
    /// ones implicitly (still definable by their own header) and entering the newest element
    /// of arrays of tables.
    private func parentTable(of path: [KeyPart]) throws(TOMLError) -> TableNode {
        var table = root
        for (i, part) in path.dropLast().enumerated() {
            switch table.slot(part.name) {
            case nil: table = try table.addTable(part)
            case .table(let existing)?: table = existing
            case .tables(let array)?: table = array.newest
            case .value(let value)?:
                throw TOMLError(position: part.position, message: TableNode.notATable(value, path[...i].dotted))
            }
        }
        return table
    }
}
