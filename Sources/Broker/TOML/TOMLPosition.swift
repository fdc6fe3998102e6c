/// A place in a TOML document as an editor shows it: 1-based line, and 1-based column
/// counted in Unicode scalars, so text such as "é" before the place counts once.
public struct TOMLPosition: Hashable, Sendable, CustomStringConvertible {
    public let line: Int
    public let column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public var description: String { "\(line):\(column)" }
}
