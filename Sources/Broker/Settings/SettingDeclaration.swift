import TOML

/// One setting of `herald serve`: its option and config key, how its value is written,
/// what bounds it, its help, and whether SIGHUP may change it. The CLI parser, the config
/// file reader, the help text, the start-up summary and reload all read these, so none of
/// them names a setting.
///
/// The generic factories (`option`, `flag`, `list`) capture the field's key path and kind;
/// what is left is a value every setting shares a type with.
struct SettingDeclaration: Sendable {
    enum Form: Sendable {
        /// `--name` / `--no-name`.
        case flag
        /// `--name VALUE`; given twice, the last wins.
        case single
        /// `--name VALUE`, repeatable; the values given on the command line replace the file's array.
        case repeatable
    }

    /// The long option name without dashes, also the config key: `max-pending-bytes`.
    let name: String
    let help: String
    let form: Form
    let placeholder: String
    let reloadable: Bool
    /// The default as the help shows it, where the value itself would mislead (the number of
    /// cores of the machine that printed the help, say).
    let defaultNote: String?
    /// Sets the field from the command-line values given for it, in order.
    let setFromArguments: @Sendable (inout Settings, [String]) throws(Refusal) -> Void
    let setFromTOML: @Sendable (inout Settings, TOMLValue) throws(Refusal) -> Void
    let check: @Sendable (Settings) -> Refusal?
    let describe: @Sendable (Settings) -> String
    let isUnchanged: @Sendable (_ old: Settings, _ new: Settings) -> Bool
    let copy: @Sendable (_ from: Settings, _ to: inout Settings) -> Void
}

extension SettingDeclaration {
    /// `--name VALUE`; given twice, the last wins.
    static func option<Value>(
        _ name: String,
        _ field: any WritableKeyPath<Settings, Value> & Sendable,
        _ kind: SettingKind<Value>,
        must requirement: Requirement<Value>? = nil,
        reloadable: Bool = false,
        defaultNote: String? = nil,
        help: String
    ) -> Self {
        make(name, field, kind, form: .single, requirement: requirement, reloadable: reloadable, defaultNote: defaultNote, help: help) {
            (texts: [String]) throws(Refusal) -> Value in
            // Every value is read, so that a bad one is reported even when a later one overrides it.
            var values: [Value] = []
            for text in texts { values.append(try kind.parse(text)) }
            // `CommandLineArguments` records a setting only together with a value.
            return values[values.count - 1]
        }
    }

    /// `--name` / `--no-name`; `true` or `false` in TOML.
    static func flag(
        _ name: String,
        _ field: any WritableKeyPath<Settings, Bool> & Sendable,
        reloadable: Bool = false,
        help: String
    ) -> Self {
        make(name, field, .boolean, form: .flag, requirement: nil, reloadable: reloadable, defaultNote: nil, help: help) {
            (texts: [String]) throws(Refusal) -> Bool in
            var value = false
            for text in texts { value = try SettingKind<Bool>.boolean.parse(text) }
            return value
        }
    }

    /// A repeatable option; an array in TOML. The values given on the command line
    /// replace the file's array rather than add to it, so that a flag can take entries out.
    static func list<Element>(
        _ name: String,
        _ field: any WritableKeyPath<Settings, [Element]> & Sendable,
        _ element: SettingKind<Element>,
        reloadable: Bool = false,
        help: String
    ) -> Self {
        let kind = SettingKind<[Element]>(
            expectation: "an array, each \(element.expectation)",
            placeholder: element.placeholder,
            parse: { (text: String) throws(Refusal) -> [Element] in [try element.parse(text)] },
            decode: { (node: TOMLValue) throws(Refusal) -> [Element] in
                guard let array = node.array else { throw Refusal("takes an array, not \(node.kindWithArticle)") }
                var elements: [Element] = []
                for item in array { elements.append(try element.decode(item)) }
                return elements
            },
            format: { $0.isEmpty ? "none" : $0.map(element.format).joined(separator: ", ") }
        )
        return make(name, field, kind, form: .repeatable, requirement: nil, reloadable: reloadable, defaultNote: nil, help: help) {
            (texts: [String]) throws(Refusal) -> [Element] in
            var elements: [Element] = []
            for text in texts { elements.append(try element.parse(text)) }
            return elements
        }
    }

    private static func make<Value>(
        _ name: String,
        _ field: any WritableKeyPath<Settings, Value> & Sendable,
        _ kind: SettingKind<Value>,
        form: Form,
        requirement: Requirement<Value>?,
        reloadable: Bool,
        defaultNote: String?,
        help: String,
        fromArguments: @escaping @Sendable ([String]) throws(Refusal) -> Value
    ) -> Self {
        let check = { @Sendable (value: Value) throws(Refusal) in
            if let requirement, !requirement.holds(value) {
                throw Refusal("\(requirement.phrase), not \(kind.format(value))")
            }
        }
        return Self(
            name: name,
            help: help,
            form: form,
            placeholder: kind.placeholder,
            reloadable: reloadable,
            defaultNote: defaultNote,
            setFromArguments: { (settings: inout Settings, texts: [String]) throws(Refusal) in
                let value = try fromArguments(texts)
                try check(value)
                settings[keyPath: field] = value
            },
            setFromTOML: { (settings: inout Settings, node: TOMLValue) throws(Refusal) in
                let value = try kind.decode(node)
                try check(value)
                settings[keyPath: field] = value
            },
            check: { settings in
                do throws(Refusal) { try check(settings[keyPath: field]) } catch { return error }
                return nil
            },
            describe: { kind.format($0[keyPath: field]) },
            isUnchanged: { $0[keyPath: field] == $1[keyPath: field] },
            copy: { $1[keyPath: field] = $0[keyPath: field] }
        )
    }
}
