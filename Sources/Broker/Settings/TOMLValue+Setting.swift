import TOML

/// What a setting reads from a config-file value.
extension TOMLValue {
    var string: String? { if case .string(let text) = self { text } else { nil } }
    var int: Int? { if case .integer(let value) = self { Int(exactly: value) } else { nil } }
    var double: Double? { if case .float(let value) = self { value } else { nil } }
    var bool: Bool? { if case .boolean(let value) = self { value } else { nil } }
    var array: [TOMLValue]? { if case .array(let values) = self { values } else { nil } }

    /// `a string`, `an integer`, `a floating-point number`: ends "takes …, not …" in errors.
    var kindWithArticle: String {
        switch self {
        case .string: "a string"
        case .integer: "an integer"
        case .float: "a floating-point number"
        case .boolean: "a boolean"
        case .array: "an array"
        case .table: "a table"
        }
    }
}
