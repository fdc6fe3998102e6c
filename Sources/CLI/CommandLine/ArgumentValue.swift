/// A type an option or positional argument can take, read from its text on the command line.
public protocol ArgumentValue: Sendable {
    /// Nil when `argument` is not a value of this type.
    init?(argument: String)
    /// Ends "takes …" in errors: `a whole number`.
    static var expectation: String { get }
    /// Stands for the value in the help when the declaration names none: `N`.
    static var placeholder: String { get }
    /// The value as the help shows it as a default.
    var argumentText: String { get }
}

extension String: ArgumentValue {
    public init?(argument: String) { self = argument }
    public static var expectation: String { "a text" }
    public static var placeholder: String { "TEXT" }
    public var argumentText: String { self }
}

extension Int: ArgumentValue {
    public init?(argument: String) { self.init(argument) }
    public static var expectation: String { "a whole number" }
    public static var placeholder: String { "N" }
    public var argumentText: String { String(self) }
}

extension Double: ArgumentValue {
    public init?(argument: String) { self.init(argument) }
    public static var expectation: String { "a number" }
    public static var placeholder: String { "NUMBER" }
    public var argumentText: String { String(self) }
}

/// A choice among named cases, written as their raw values: `deliveries|publishes`.
extension ArgumentValue where Self: RawRepresentable & CaseIterable, RawValue == String {
    public init?(argument: String) { self.init(rawValue: argument) }
    public static var expectation: String {
        let names = allCases.map(\.rawValue)
        return names.dropLast().joined(separator: ", ") + (names.count > 1 ? " or " : "") + (names.last ?? "")
    }
    public static var placeholder: String { allCases.map(\.rawValue).joined(separator: "|") }
    public var argumentText: String { rawValue }
}

extension ArgumentValue {
    /// Reads `text` given for `name` (an option such as `--size` or an argument such as
    /// `TOPIC`), naming both when it is not a value of this type.
    static func read(_ text: String, for name: String) throws(UsageError) -> Self {
        guard let value = Self(argument: text) else { throw UsageError("\(name) takes \(expectation), not '\(text)'") }
        return value
    }
}
