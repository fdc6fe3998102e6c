import ArgumentParser
import CMallocTuning
import Dispatch
import Topics

#if canImport(Glibc)
import Glibc
#endif

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the broker.")

    @Option(help: "HOST:PORT for WebSocket subscribers (port 0 picks a free one). Default 127.0.0.1:8080.")
    var listen: String?
    @Option(help: "Unix socket for publishers. Default ./herald.sock, or $HERALD_SOCKET.")
    var socket: String?
    @Option(help: "A config file of `key = value` lines named like these options.")
    var config: String?
    @Option(help: "Messages of history kept per topic for `since` resume; 0 turns it off. Default 100.")
    var history: Int?
    @Flag(inversion: .prefixedNo, help: "Offer permessage-deflate (RFC 7692). Default on.")
    var compression: Bool?
    @Option(help: "Messages below this many bytes are sent uncompressed. Default 64.")
    var compressionThreshold: Int?
    @Option(help: "LZ77 window of the shared compressor, 9-15; smaller saves memory. Default 15.")
    var deflateWindowBits: Int?
    @Option(help: "Largest message accepted, after inflating. Default 1048576.")
    var maxMessageBytes: Int?
    @Option(help: "Largest single WebSocket frame accepted. Default 1048576.")
    var maxFrameBytes: Int?
    @Option(help: "Outbound bytes queued per subscriber before the slow-consumer policy applies. Default 1048576.")
    var maxPendingBytes: Int?
    @Option(help: "disconnect (close 1008) or drop (oldest queued messages). Default disconnect.")
    var slowConsumer: String?
    @Option(help: "Seconds a client has to complete its HTTP handshake. Default 10.")
    var handshakeTimeout: Double?
    @Option(help: "Seconds between server pings. Default 30.")
    var pingInterval: Double?
    @Option(help: "Seconds without any client traffic before the connection is closed. Default 75.")
    var idleTimeout: Double?
    @Option(help: "Subscriptions one connection may hold. Default 100.")
    var maxSubscriptions: Int?
    @Option(help: "Open WebSocket listener connections; more get 503. Default 10000.")
    var maxConnections: Int?
    @Option(help: "Longest command line on the Unix socket. Default 1024.")
    var maxLineBytes: Int?
    @Option(help: "A pattern WebSocket clients may publish to; repeatable. Default none.")
    var allowClientPublish: [String] = []
    @Option(help: "Seconds a graceful shutdown may take. Default 5.")
    var shutdownGrace: Double?
    @Option(help: "Event-loop threads. Default: one per core.")
    var threads: Int?

    func run() async throws {
        let configuration: BrokerConfiguration
        do {
            configuration = try makeConfiguration()
        } catch {
            fail("\(error)")
        }
        // Each batch briefly holds one small buffer per subscriber, a few MB at high fan-out;
        // glibc's default (trim at 128 KiB) hands those pages back and faults them in again
        // every batch. Keeping up to 16 MiB of freed heap removes that (BENCHMARKS.md).
        _ = herald_set_malloc_trim_threshold(16 << 20)
        Self.raiseOpenFileLimit()
        let server: HeraldServer
        do {
            server = try await HeraldServer.start(configuration)
        } catch {
            fail("\(error)")
        }
        let signals = SignalWaiter(signals: [SIGINT, SIGTERM])
        printFlushed(server.readyLine)
        await signals.wait()
        await server.shutdown()
    }

    /// Each connection is a file descriptor, and many systems start processes with a soft
    /// limit of 1024: take the hard limit, as servers of this kind do.
    static func raiseOpenFileLimit() {
        var limits = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limits) == 0, limits.rlim_cur < limits.rlim_max else { return }
        limits.rlim_cur = limits.rlim_max
        _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limits)
    }

    func makeConfiguration() throws -> BrokerConfiguration {
        var settings = BrokerConfiguration()
        settings.socketPath = DefaultSocket.path
        if let config { try ConfigFile.apply(path: config, to: &settings) }
        if let listen {
            let (host, port) = try Self.parseListen(listen)
            settings.listenHost = host
            settings.listenPort = port
        }
        if let socket { settings.socketPath = socket }
        if let history { settings.historyPerTopic = history }
        if let compression { settings.compression = compression }
        if let compressionThreshold { settings.compressionThreshold = compressionThreshold }
        if let deflateWindowBits { settings.deflateWindowBits = deflateWindowBits }
        if let maxMessageBytes { settings.maxMessageBytes = maxMessageBytes }
        if let maxFrameBytes { settings.maxFrameBytes = maxFrameBytes }
        if let maxPendingBytes { settings.maxPendingBytes = maxPendingBytes }
        if let slowConsumer {
            guard let policy = BrokerConfiguration.SlowConsumerPolicy(rawValue: slowConsumer) else {
                throw CommandFailure("--slow-consumer must be disconnect or drop, not '\(slowConsumer)'")
            }
            settings.slowConsumer = policy
        }
        if let handshakeTimeout { settings.handshakeTimeoutSeconds = handshakeTimeout }
        if let pingInterval { settings.pingIntervalSeconds = pingInterval }
        if let idleTimeout { settings.idleTimeoutSeconds = idleTimeout }
        if let maxSubscriptions { settings.maxSubscriptionsPerConnection = maxSubscriptions }
        if let maxConnections { settings.maxConnections = maxConnections }
        if let maxLineBytes { settings.maxLineBytes = maxLineBytes }
        if !allowClientPublish.isEmpty {
            settings.allowClientPublish = try allowClientPublish.map { pattern in
                do { return try TopicPattern(pattern) } catch { throw CommandFailure("--allow-client-publish: \(error)") }
            }
        }
        if let shutdownGrace { settings.shutdownGraceSeconds = shutdownGrace }
        if let threads { settings.threads = threads }
        try settings.validate()
        return settings
    }

    static func parseListen(_ text: String) throws -> (String, Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw CommandFailure("--listen takes HOST:PORT, e.g. 127.0.0.1:8080, not '\(text)'")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw CommandFailure("--listen needs a host, e.g. 0.0.0.0:\(port)") }
        return (host, port)
    }
}

extension BrokerConfiguration {
    func validate() throws {
        func check(_ condition: Bool, _ message: String) throws {
            if !condition { throw CommandFailure(message) }
        }
        try check(historyPerTopic >= 0, "--history must be 0 or more")
        try check((9...15).contains(deflateWindowBits), "--deflate-window-bits must be 9 to 15")
        try check(compressionThreshold >= 0, "--compression-threshold must be 0 or more")
        try check(maxMessageBytes > 0, "--max-message-bytes must be positive")
        try check(maxFrameBytes > 0, "--max-frame-bytes must be positive")
        try check(maxPendingBytes > 0, "--max-pending-bytes must be positive")
        try check(handshakeTimeoutSeconds > 0, "--handshake-timeout must be positive")
        try check(pingIntervalSeconds > 0, "--ping-interval must be positive")
        try check(idleTimeoutSeconds > 0, "--idle-timeout must be positive")
        try check(maxSubscriptionsPerConnection > 0, "--max-subscriptions must be positive")
        try check(maxConnections > 0, "--max-connections must be positive")
        try check(maxLineBytes >= 64, "--max-line-bytes must be at least 64")
        try check(shutdownGraceSeconds >= 0, "--shutdown-grace must be 0 or more")
        try check(threads >= 1, "--threads must be at least 1")
    }
}

/// Waits for the first of some signals. The handlers are installed with `sigaction`
/// before `init` returns, so a signal sent as soon as the ready line is out is never lost
/// (a dispatch signal source arms itself asynchronously and can miss it); the handler
/// only writes a byte to a pipe, and `wait` reads it off the signal context.
final class SignalWaiter: Sendable {
    private let readEnd: Int32

    init(signals: [Int32]) {
        var ends: [Int32] = [0, 0]
        precondition(pipe(&ends) == 0, "pipe: \(errno)")
        readEnd = ends[0]
        signalPipeWriteEnd = ends[1]
        for number in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { _ in
                var byte: UInt8 = 1
                _ = write(signalPipeWriteEnd, &byte, 1)
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(number, &action, nil)
        }
    }

    func wait() async {
        let descriptor = readEnd
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                var byte: UInt8 = 0
                while read(descriptor, &byte, 1) < 0 && errno == EINTR {}
                continuation.resume()
            }
        }
    }
}

/// Written only once, before any handler is installed; read by the signal handler.
nonisolated(unsafe) private var signalPipeWriteEnd: Int32 = -1
