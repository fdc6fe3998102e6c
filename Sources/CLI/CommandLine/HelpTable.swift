/// Rows of `usage  help`, as the help of every command lists options, arguments and
/// subcommands. The help starts at the same column in every table, so that the tables of
/// one help line up even when made apart (`serve`'s options come from HeraldSettings); a
/// usage too long for that column has its help start on the next line.
public struct HelpTable: Sendable {
    /// The widest usage that still fits before the help column.
    static let usageWidth = 28
    static let helpColumn = 2 + usageWidth + 2

    let rows: [(usage: String, help: String)]

    public init(_ rows: [(usage: String, help: String)]) {
        self.rows = rows
    }

    public var text: String {
        rows.flatMap { usage, help in
            let words = help.split(separator: " ").map(String.init)
            let head = "  " + usage
            guard usage.count <= Self.usageWidth else {
                return [head] + TextWrapping.lines(words, after: String(repeating: " ", count: Self.helpColumn), indent: Self.helpColumn)
            }
            let padded = head + String(repeating: " ", count: Self.helpColumn - head.count)
            return TextWrapping.lines(words, after: padded, indent: Self.helpColumn)
        }.joined(separator: "\n")
    }

    /// The options every command takes besides its own.
    static let builtInRows = [("--version", "Show the version."), ("-h, --help", "Show help information.")]
}
