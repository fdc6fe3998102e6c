import TOML

/// The JSON shape of the toml-test suite: tables as objects, arrays as arrays, and every leaf
/// as {"type": ..., "value": ...} with the value as text, so no precision is lost in transit.
enum TaggedJSON {
    static func encode(_ table: TOMLTable) -> String {
        var out = ""
        write(table, to: &out)
        return out
    }

    private static func write(_ table: TOMLTable, to out: inout String) {
        out += "{"
        for (i, entry) in table.entries.enumerated() {
            if i > 0 { out += "," }
            writeString(entry.key, to: &out)
            out += ":"
            write(entry.value, to: &out)
        }
        out += "}"
    }

    private static func write(_ value: TOMLValue, to out: inout String) {
        switch value {
        case .string(let text): writeLeaf("string", text, to: &out)
        case .integer(let number): writeLeaf("integer", String(number), to: &out)
        case .float(let number): writeLeaf("float", floatText(number), to: &out)
        case .boolean(let flag): writeLeaf("bool", flag ? "true" : "false", to: &out)
        case .table(let table): write(table, to: &out)
        case .array(let elements):
            out += "["
            for (i, element) in elements.enumerated() {
                if i > 0 { out += "," }
                write(element, to: &out)
            }
            out += "]"
        }
    }

    private static func writeLeaf(_ type: String, _ value: String, to out: inout String) {
        out += "{\"type\":\"\(type)\",\"value\":"
        writeString(value, to: &out)
        out += "}"
    }

    /// Swift's description is the shortest text that reads back to the same Double; the
    /// specials are spelled as TOML spells them, and NaN's sign is not meaningful.
    private static func floatText(_ number: Double) -> String {
        if number.isNaN { return "nan" }
        if number.isInfinite { return number < 0 ? "-inf" : "inf" }
        return number.description
    }

    private static func writeString(_ text: String, to out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
