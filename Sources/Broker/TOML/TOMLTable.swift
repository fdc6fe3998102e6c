/// A table's keys and values in document order, with where each key was first written.
public struct TOMLTable: Equatable, Sendable {
    public let entries: [(key: String, value: TOMLValue)]
    private let positions: [TOMLPosition]
    private let indexByKey: [ExactKey: Int]

    init(entries: [(key: String, value: TOMLValue)], positions: [TOMLPosition]) {
        self.entries = entries
        self.positions = positions
        var index: [ExactKey: Int] = [:]
        for (i, entry) in entries.enumerated() {
            index[ExactKey(entry.key)] = i
        }
        indexByKey = index
    }

    public var keys: [String] { entries.map(\.key) }

    public subscript(key: String) -> TOMLValue? {
        indexByKey[ExactKey(key)].map { entries[$0].value }
    }

    /// Where `key` was written first: for a table opened by a header, the key in that header.
    public func position(of key: String) -> TOMLPosition? {
        indexByKey[ExactKey(key)].map { positions[$0] }
    }

    /// Same keys holding equal values; order and positions are presentation, not content.
    public static func == (lhs: TOMLTable, rhs: TOMLTable) -> Bool {
        lhs.entries.count == rhs.entries.count
            && lhs.entries.allSatisfy { entry in
                rhs.indexByKey[ExactKey(entry.key)].map { rhs.entries[$0].value == entry.value } ?? false
            }
    }
}
