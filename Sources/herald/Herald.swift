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
        subcommands: [ServeCommand.self, PublishCommand.self, SubscribeCommand.self, StatsCommand.self, BenchCommand.self]
    )
}

/// `HERALD_SOCKET` overrides the default socket path for every subcommand (CONTRACT §1).
enum DefaultSocket {
    static var path: String {
        if let value = getenv("HERALD_SOCKET"), let path = String(validatingCString: value), !path.isEmpty { return path }
        return "./herald.sock"
    }
}

/// Errors of every subcommand: one line on standard error, exit status 1.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func fail(_ message: String) -> Never {
    var line = "herald: " + message + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    exit(1)
}

func printFlushed(_ line: String) {
    var text = line + "\n"
    text.withUTF8 { bytes in
        var offset = 0
        while offset < bytes.count {
            let written = write(1, bytes.baseAddress! + offset, bytes.count - offset)
            if written <= 0 { exit(0) }  // nobody reads our output any more
            offset += written
        }
    }
}
