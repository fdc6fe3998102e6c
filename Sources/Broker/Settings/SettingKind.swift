import TOML
import Topics

/// How one kind of value is written: on the command line, in the config file, and back
/// as text for the help, the start-up log line and the reload log.
struct SettingKind<Value: Equatable & Sendable>: Sendable {
    /// Ends "takes …" in errors: `a whole number`.
    let expectation: String
    /// Stands for the value in the help text: `N`, `DURATION`.
    let placeholder: String
    let parse: @Sendable (String) throws(Refusal) -> Value
    let decode: @Sendable (TOMLValue) throws(Refusal) -> Value
    let format: @Sendable (Value) -> String

    /// A kind whose command-line text `parse` reads. In TOML, a string goes through `parse`
    /// too when `tomlStrings` is set, and `otherTOML` takes the other TOML types it accepts.
    init(
        _ expectation: String,
        placeholder: String,
        parse: @escaping @Sendable (String) -> Value?,
        tomlStrings: Bool = true,
        otherTOML: @escaping @Sendable (TOMLValue) -> Value? = { _ in nil },
        format: @escaping @Sendable (Value) -> String
    ) {
        self.init(
            expectation: expectation,
            placeholder: placeholder,
            parse: { (text: String) throws(Refusal) -> Value in
                guard let value = parse(text) else { throw Refusal("takes \(expectation), not '\(text)'") }
                return value
            },
            decode: { (node: TOMLValue) throws(Refusal) -> Value in
                if tomlStrings, let text = node.string {
                    guard let value = parse(text) else { throw Refusal("takes \(expectation), not '\(text)'") }
                    return value
                }
                // `history = "100"` is refused as a string rather than guessed at.
                guard let value = otherTOML(node) else { throw Refusal("takes \(expectation), not \(node.kindWithArticle)") }
                return value
            },
            format: format
        )
    }

    init(
        expectation: String,
        placeholder: String,
        parse: @escaping @Sendable (String) throws(Refusal) -> Value,
        decode: @escaping @Sendable (TOMLValue) throws(Refusal) -> Value,
        format: @escaping @Sendable (Value) -> String
    ) {
        self.expectation = expectation
        self.placeholder = placeholder
        self.parse = parse
        self.decode = decode
        self.format = format
    }
}

extension SettingKind where Value == Int {
    /// In TOML only an integer: `5.0` and `"5"` are refused.
    static var wholeNumber: Self {
        Self("a whole number", placeholder: "N", parse: { Int($0) }, tomlStrings: false, otherTOML: { $0.int }, format: { String($0) })
    }
}

extension SettingKind where Value == Double {
    /// Seconds: in TOML an integer, a float or a string such as `"250ms"`.
    static var duration: Self {
        Self(
            "a duration such as 30, 0.5, 250ms, 15m or 1h",
            placeholder: "DURATION",
            parse: { DurationText.seconds($0) },
            otherTOML: { $0.double ?? $0.int.map(Double.init) },
            format: { DurationText.text($0) }
        )
    }
}

extension SettingKind where Value == Bool {
    /// `--name` / `--no-name` on the command line; `true` or `false` in TOML.
    static var boolean: Self {
        Self(
            "true or false",
            placeholder: "",
            parse: { ["true": true, "false": false][$0] },
            tomlStrings: false,
            otherTOML: { $0.bool },
            format: { String($0) }
        )
    }
}

extension SettingKind where Value == String {
    static var path: Self {
        Self("a path", placeholder: "PATH", parse: { $0.isEmpty ? nil : $0 }, format: { $0 })
    }

    /// Any non-empty text; what it must look like is checked where it is used.
    static var text: Self {
        Self("a non-empty string", placeholder: "TEXT", parse: { $0.isEmpty ? nil : $0 }, format: { $0 })
    }
}

extension SettingKind where Value == String? {
    /// A file that turns a feature on; unset by default.
    static var optionalPath: Self {
        Self("a path", placeholder: "PATH", parse: { $0.isEmpty ? nil : $0 }, format: { $0 ?? "none" })
    }

    /// A URL that turns a feature on; what it must look like is checked where it is used.
    static var optionalURL: Self {
        Self("a URL", placeholder: "URL", parse: { $0.isEmpty ? nil : $0 }, format: { $0.map(redactingPassword) ?? "none" })
    }

    /// The start-up log and reload messages never show a password: `redis://u:***@host`.
    static func redactingPassword(_ url: String) -> String {
        guard let scheme = url.firstRange(of: "://"), let at = url[scheme.upperBound...].lastIndex(of: "@") else { return url }
        let userInfo = url[scheme.upperBound..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return url }
        return String(url[..<colon]) + ":***" + String(url[at...])
    }
}

extension SettingKind where Value == ListenAddress {
    static var listenAddress: Self {
        Self(
            "HOST:PORT such as 127.0.0.1:8080 or [::1]:8080",
            placeholder: "HOST:PORT",
            parse: { ListenAddress($0) },
            format: { $0.text }
        )
    }
}

extension SettingKind where Value: CaseIterable & RawRepresentable, Value.RawValue == String {
    /// One of an enumeration's raw values, e.g. `disconnect or drop`.
    static var choice: Self {
        let names = Value.allCases.map(\.rawValue)
        let expectation = names.count > 1 ? names.dropLast().joined(separator: ", ") + " or " + names.last! : names.joined()
        return Self(
            expectation,
            placeholder: names.joined(separator: "|"),
            parse: { Value(rawValue: $0) },
            format: { $0.rawValue }
        )
    }
}

extension SettingKind where Value == TopicPattern {
    /// Keeps the pattern's own complaint, which says which part is wrong.
    static var topicPattern: Self {
        let parse = { @Sendable (text: String) throws(Refusal) -> TopicPattern in
            do throws(TopicError) { return try TopicPattern(text) } catch { throw Refusal("takes a topic pattern, not '\(text)': \(error.reason)") }
        }
        return Self(
            expectation: "a topic pattern",
            placeholder: "PATTERN",
            parse: parse,
            decode: { (node: TOMLValue) throws(Refusal) -> TopicPattern in
                guard let string = node.string else { throw Refusal("takes a topic pattern, not \(node.kindWithArticle)") }
                return try parse(string)
            },
            format: { $0.string }
        )
    }
}
