/// One `--name` option of a command: how it is written, its help, and the field of the
/// command's values it sets. The parser, the usage line and the help all read it, so a
/// command names each option once.
///
/// The factories capture the field's key path and value type; what is left has one type
/// for every option of a command.
public struct OptionDeclaration<Values>: Sendable {
    enum Form: Sendable {
        /// `--name`, no value.
        case flag
        /// `--name VALUE`; given twice, the last wins.
        case single
        /// `--name VALUE`, repeatable; the values in the order given.
        case repeatable
    }

    /// The long name without dashes: `window-counts`.
    let name: String
    let form: Form
    let placeholder: String
    let isRequired: Bool
    let help: String
    /// Sets the field from every text given for the option, in order (`["true"]` for a flag).
    let set: @Sendable (inout Values, [String]) throws(UsageError) -> Void
    /// The default the help shows, or nil when there is none worth showing.
    let describeDefault: @Sendable (Values) -> String?

    /// `--socket PATH`, as the usage line and the help write it.
    var usage: String { form == .flag ? "--\(name)" : "--\(name) \(placeholder)" }
}

extension OptionDeclaration {
    /// `--name`: sets the field to true.
    public static func flag(_ name: String, _ field: any WritableKeyPath<Values, Bool> & Sendable, help: String) -> Self {
        Self(
            name: name, form: .flag, placeholder: "", isRequired: false, help: help,
            set: { values, _ in values[keyPath: field] = true }, describeDefault: { _ in nil })
    }

    /// `--name VALUE` for a field with a default, which the help shows unless the option is required.
    public static func option<Value: ArgumentValue>(
        _ name: String, _ field: any WritableKeyPath<Values, Value> & Sendable,
        placeholder: String = Value.placeholder, required: Bool = false, help: String
    ) -> Self {
        Self(
            name: name, form: .single, placeholder: placeholder, isRequired: required, help: help,
            set: { (values: inout Values, texts: [String]) throws(UsageError) in
                values[keyPath: field] = try lastValue(of: texts, for: name)
            },
            describeDefault: { required ? nil : $0[keyPath: field].argumentText })
    }

    /// `--name VALUE` for a field that is nil unless given.
    public static func option<Value: ArgumentValue>(
        _ name: String, _ field: any WritableKeyPath<Values, Value?> & Sendable,
        placeholder: String = Value.placeholder, help: String
    ) -> Self {
        Self(
            name: name, form: .single, placeholder: placeholder, isRequired: false, help: help,
            set: { (values: inout Values, texts: [String]) throws(UsageError) in
                values[keyPath: field] = try lastValue(of: texts, for: name)
            },
            describeDefault: { _ in nil })
    }

    /// `--name VALUE`, as often as wanted: the field holds every value, in order.
    public static func repeatable<Value: ArgumentValue>(
        _ name: String, _ field: any WritableKeyPath<Values, [Value]> & Sendable,
        placeholder: String = Value.placeholder, help: String
    ) -> Self {
        Self(
            name: name, form: .repeatable, placeholder: placeholder, isRequired: false, help: help,
            set: { (values: inout Values, texts: [String]) throws(UsageError) in
                var elements: [Value] = []
                for text in texts { elements.append(try Value.read(text, for: "--\(name)")) }
                values[keyPath: field] = elements
            },
            describeDefault: { _ in nil })
    }

    /// Every text is read, so that a bad one is reported even when a later one overrides it.
    private static func lastValue<Value: ArgumentValue>(of texts: [String], for name: String) throws(UsageError) -> Value {
        var value: Value?
        for text in texts { value = try Value.read(text, for: "--\(name)") }
        // The parser calls `set` only for an option given at least once.
        return value!
    }
}
