import HeraldClient
import HeraldSettings

/// `HERALD_SOCKET` overrides the default socket path for every subcommand (PROTOCOL.md §1).
enum DefaultSocket {
    static var path: String { Settings(environment: ProcessEnvironment.variables).socketPath }
}
