import Logging
import Topics

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Every setting of `herald serve`, with the defaults of PROTOCOL.md §1, §6 and §10.
///
/// Which option, config key, help line and reload rule belongs to each field is declared
/// once, in `SettingDeclaration.all`; this struct only holds the values.
public struct Settings: Sendable, Equatable {
    public var listenHost = "127.0.0.1"
    public var listenPort = 8080
    public var socketPath = Settings.defaultSocketPath
    /// Event-loop threads; the first also owns the broker's shared state.
    public var threads = Settings.onlineProcessorCount
    public var historyPerTopic = 100
    public var maxHistoryBytes = 64 << 20
    public var historyTTLSeconds = 3600.0
    public var maxRetainedBytes = 64 << 20
    /// Patterns whose topics a lagging subscriber conflates to the newest message (PROTOCOL.md §11).
    public var keepLatest: [TopicPattern] = []
    public var metrics = false
    /// The backplane's Redis (PROTOCOL.md §13); nil runs one broker on its own.
    public var redis: String?
    public var redisPrefix = "herald"
    public var compression = true
    public var compressionThreshold = 64
    public var deflateWindowBits = 15
    /// Not a setting: 8 is zlib's own default and the benchmarks found no reason to move it.
    public let deflateMemoryLevel = 8
    public var maxMessageBytes = 1 << 20
    public var maxFrameBytes = 1 << 20
    public var maxPendingBytes = 1 << 20
    public var slowConsumer = SlowConsumerPolicy.disconnect
    public var handshakeTimeoutSeconds = 10.0
    public var pingIntervalSeconds = 30.0
    public var idleTimeoutSeconds = 75.0
    public var maxSubscriptionsPerConnection = 100
    public var maxConnections = 10_000
    /// Connections still in their HTTP handshake, counted apart from `maxConnections`.
    public var maxHandshakes = 1000
    public var maxLineBytes = 1024
    public var allowClientPublish: [TopicPattern] = []
    public var shutdownGraceSeconds = 5.0
    /// HS256 keys, one per line (PROTOCOL.md §7); nil leaves access control off.
    public var authSecretFile: String?
    public var allowAnonymous: [TopicPattern] = []
    /// `scheme://host[:port]` entries, checked by HeraldAuth's `OriginAllowList`.
    public var allowedOrigin: [String] = []
    public var tlsCert: String?
    public var tlsKey: String?
    public var logLevel = Logger.Level.info
    public var logFormat = LogFormat.text

    /// The defaults, ignoring the environment.
    public init() {}

    /// The defaults for a process with this environment: a non-empty `HERALD_SOCKET`
    /// replaces the default socket path, as it does for every subcommand.
    public init(environment: [String: String]) {
        self.init()
        if let socket = environment["HERALD_SOCKET"], !socket.isEmpty {
            socketPath = socket
        }
    }

    /// Whether a WebSocket client may publish to `topic` (`--allow-client-publish`).
    public func allowsClientPublish(to topic: TopicName) -> Bool {
        allowClientPublish.contains { $0.matches(topic) }
    }

    static let defaultSocketPath = "./herald.sock"

    static var onlineProcessorCount: Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }
}
