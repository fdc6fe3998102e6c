import HeraldBench
import HeraldCommandLine

/// The `herald` program and its subcommands.
enum Herald {
    static let program = Program(
        name: "herald",
        version: "0.1.0",
        abstract: "A push notification broker: WebSocket subscribers, Unix-socket publishers.",
        commands: [ServeCommand.self, PublishCommand.self, SubscribeCommand.self, StatsCommand.self, TokenCommand.self, BenchCommand.self]
    )
}
