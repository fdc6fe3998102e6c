/// One setting that differs between two loads, for the SIGHUP log line.
public struct SettingChange: Sendable, Equatable, CustomStringConvertible {
    /// The option name, e.g. `log-level`.
    public let name: String
    /// Whether a running server applies it; otherwise it needs a restart.
    public let reloadable: Bool
    public let oldValue: String
    public let newValue: String

    /// E.g. `log-level info -> debug` or `listen 127.0.0.1:8080 -> 0.0.0.0:8080 (needs a restart)`.
    public var description: String {
        "\(name) \(oldValue) -> \(newValue)" + (reloadable ? "" : " (needs a restart)")
    }
}

extension Settings {
    /// The settings that differ from `old`, in declaration order.
    public func changes(from old: Settings) -> [SettingChange] {
        SettingDeclaration.all.filter { !$0.isUnchanged(old, self) }.map {
            SettingChange(name: $0.name, reloadable: $0.reloadable, oldValue: $0.describe(old), newValue: $0.describe(self))
        }
    }

    /// These settings with the reloadable ones taken from `reloaded`: what a running server
    /// is left with after SIGHUP, the other changes waiting for a restart.
    public func applyingReloadable(from reloaded: Settings) -> Settings {
        var result = self
        for declaration in SettingDeclaration.all where declaration.reloadable {
            declaration.copy(reloaded, &result)
        }
        return result
    }
}
