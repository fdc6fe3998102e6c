/// Where `Settings.load` reads from. Kept whole by the server, so that a reload on SIGHUP
/// reads the same config file again and the same flags still win over it.
public struct SettingsSource: Sendable, Equatable {
    /// The arguments of `herald serve` after the subcommand name, e.g.
    /// `["--listen", "127.0.0.1:0", "--no-compression", "--config", "herald.toml"]`.
    public var arguments: [String]
    /// The process environment; only `HERALD_SOCKET` is read.
    public var environment: [String: String]

    public init(arguments: [String], environment: [String: String] = [:]) {
        self.arguments = arguments
        self.environment = environment
    }
}
