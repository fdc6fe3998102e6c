/// One positional argument of a command: its name in the usage line (`TOPIC`), its help,
/// how many it takes, and the field of the command's values it sets.
public struct ArgumentDeclaration<Values>: Sendable {
    enum Arity: Sendable {
        case one
        case optional
        /// One or more; only the last argument may take several.
        case oneOrMore
    }

    let name: String
    let arity: Arity
    let help: String
    /// Sets the field from the texts this argument took (none for an optional one left out).
    let set: @Sendable (inout Values, [String]) throws(UsageError) -> Void

    /// `TOPIC`, `[MESSAGE]` or `PATTERN...`.
    var usage: String {
        switch arity {
        case .one: name
        case .optional: "[\(name)]"
        case .oneOrMore: "\(name)..."
        }
    }
}

extension ArgumentDeclaration {
    /// Exactly one.
    public static func argument<Value: ArgumentValue>(_ name: String, _ field: any WritableKeyPath<Values, Value> & Sendable, help: String) -> Self {
        Self(name: name, arity: .one, help: help) { (values: inout Values, texts: [String]) throws(UsageError) in
            values[keyPath: field] = try Value.read(texts[0], for: name)
        }
    }

    /// At most one; the field stays nil without it.
    public static func argument<Value: ArgumentValue>(_ name: String, _ field: any WritableKeyPath<Values, Value?> & Sendable, help: String) -> Self {
        Self(name: name, arity: .optional, help: help) { (values: inout Values, texts: [String]) throws(UsageError) in
            if let text = texts.first { values[keyPath: field] = try Value.read(text, for: name) }
        }
    }

    /// One or more, each read into the field in order.
    public static func arguments<Value: ArgumentValue>(_ name: String, _ field: any WritableKeyPath<Values, [Value]> & Sendable, help: String) -> Self {
        Self(name: name, arity: .oneOrMore, help: help) { (values: inout Values, texts: [String]) throws(UsageError) in
            var elements: [Value] = []
            for text in texts { elements.append(try Value.read(text, for: name)) }
            values[keyPath: field] = elements
        }
    }
}
