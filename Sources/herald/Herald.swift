import HeraldServer
import HeraldBench
import HeraldSettings
import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

public struct Herald: AsyncParsableCommand {
    static let version = "0.1.0"

    public init() {}

    public static let configuration = CommandConfiguration(
        commandName: "herald",
        abstract: "A push notification broker: WebSocket subscribers, Unix-socket publishers.",
        version: version,
        subcommands: [ServeCommand.self, PublishCommand.self, SubscribeCommand.self, StatsCommand.self, TokenCommand.self, BenchCommand.self]
    )
}

