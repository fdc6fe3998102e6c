/// Entry point: reads a whole TOML 1.0 document into its root table.
public enum TOMLDocument {
    public static func parse(_ text: String) throws(TOMLError) -> TOMLTable {
        try parse(Array(text.utf8))
    }

    /// Takes raw bytes so that invalid UTF-8 is refused with its position rather than repaired.
    public static func parse(_ bytes: [UInt8]) throws(TOMLError) -> TOMLTable {
        var parser = try Parser(checking: bytes)
        return try parser.parseDocument()
    }
}
