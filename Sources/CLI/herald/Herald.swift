import HeraldBench
import HeraldCommandLine

/// The `herald` program and its subcommands.
enum Herald {
    /// `make deb` reads the package version from this line.
    static let version = "0.1.0"

    static let program = Program(
        name: "herald",
        version: version,
        abstract: "A push notification broker: WebSocket subscribers, Unix-socket publishers.",
        commands: [ServeCommand.self, PublishCommand.self, SubscribeCommand.self, StatsCommand.self, TokenCommand.self, BenchCommand.self]
    )
}
