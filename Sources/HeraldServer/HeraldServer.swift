import HeraldSettings
import HeraldCore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Topics

#if canImport(Glibc)
import Glibc
#endif

/// A running broker, embeddable in another Swift program: `start` binds both listeners and
/// returns once they accept connections; `reload` applies what SIGHUP may change;
/// `shutdown` is the graceful stop of CONTRACT §1.
public final class HeraldServer: Sendable {
    public struct StartError: Error, CustomStringConvertible {
        public let description: String
    }

    /// The settings the broker started with; `reload` changes only the reloadable ones.
    public let settings: Settings
    private let running: NIOLockedValueBox<Settings>
    let group: MultiThreadedEventLoopGroup
    let listener: ListenerContext
    var core: BrokerCore { listener.core }
    let webSocketChannel: any Channel
    let publisherChannel: any Channel
    private let logger: Logger
    /// The port actually bound, which differs from the configured one for port 0.
    public let port: Int

    private init(group: MultiThreadedEventLoopGroup, listener: ListenerContext, webSocketChannel: any Channel, publisherChannel: any Channel) {
        self.settings = listener.settings
        self.running = NIOLockedValueBox(listener.settings)
        self.logger = listener.logger
        self.group = group
        self.listener = listener
        self.webSocketChannel = webSocketChannel
        self.publisherChannel = publisherChannel
        self.port = webSocketChannel.localAddress?.port ?? settings.listenPort
    }

    /// CONTRACT §1: the line a supervisor or test waits for.
    public var readyLine: String {
        let host = settings.listenHost.contains(":") ? "[\(settings.listenHost)]" : settings.listenHost
        let scheme = settings.tlsCert == nil ? "ws" : "wss"
        return "herald ready \(scheme)://\(host):\(port) socket \(settings.socketPath)"
    }

    public static func start(settings: Settings, logger: Logger) async throws -> HeraldServer {
        let policy = try AccessPolicy.load(settings)
        let tls = try TLSFiles.context(settings)
        if let keys = policy.keys, !keys.shortKeyLines.isEmpty {
            logger.warning("auth keys shorter than 32 bytes (RFC 7518 asks for at least 32)", metadata: ["lines": "\(keys.shortKeyLines)"])
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, settings.threads))
        do {
            try await SocketFile.prepare(settings.socketPath, group: group)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        let loops = Array(group.makeIterator())
        // Sweep often enough that pings and idle closes are at most a quarter late.
        let sweepSeconds = min(1, max(0.01, min(settings.pingIntervalSeconds, settings.idleTimeoutSeconds) / 4))
        let outboxes = loops.map { LoopOutbox(loop: $0) }
        let services = outboxes.map { LoopServices(outbox: $0, sweepInterval: .seconds(sweepSeconds), logger: logger) }
        for service in services {
            try await service.outbox.loop.submit { service.outbox.afterBatch = { service.flushBatch() } }.get()
        }
        let core = BrokerCore(loop: loops[0], outboxes: outboxes, settings: settings, policy: policy, logger: logger)
        let listener = ListenerContext(core: core, services: services, settings: settings, tls: tls, logger: logger)
        do {
            let publisherChannel = try await ServerBootstrap(group: core.loop)
                .serverChannelOption(.backlog, value: 256)
                // Replies a publisher has not read count against its budget (CONTRACT §6).
                .childChannelOption(.writeBufferWaterMark, value: .init(low: max(settings.maxPendingBytes / 2, 1), high: max(settings.maxPendingBytes, 2)))
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(PublisherHandler(core: core))
                    }
                }
                .bind(unixDomainSocketPath: settings.socketPath, cleanupExistingSocketFile: false)
                .get()
            chmod(settings.socketPath, 0o660)
            let webSocketChannel: any Channel
            do {
                webSocketChannel = try await webSocketBootstrap(group: group, listener: listener)
                    .bind(host: settings.listenHost, port: settings.listenPort).get()
            } catch {
                try? await publisherChannel.close()
                throw StartError(description: "cannot listen on \(settings.listenHost):\(settings.listenPort): \(error)")
            }
            return HeraldServer(group: group, listener: listener, webSocketChannel: webSocketChannel, publisherChannel: publisherChannel)
        } catch {
            SocketFile.remove(settings.socketPath)
            try? await group.shutdownGracefully()
            if error is StartError { throw error }
            throw StartError(description: "cannot start: \(error)")
        }
    }

    private static func webSocketBootstrap(group: MultiThreadedEventLoopGroup, listener: ListenerContext) -> ServerBootstrap {
        let settings = listener.settings
        let highWater = max(settings.maxPendingBytes / 2, 2)
        return ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: highWater / 2, high: highWater))
            // Each channel keeps its last receive buffer for the next read. Subscribers send
            // little (a handshake, pongs), so start small: NIO's default of 2 KiB would be
            // the largest part of an idle connection's memory. It still grows for bursts.
            .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 256, maximum: 65536))
            .childChannelInitializer { channel in
                let open = listener.openConnections.wrappingIncrementThenLoad(ordering: .relaxed)
                channel.closeFuture.whenComplete { _ in listener.openConnections.wrappingDecrement(ordering: .relaxed) }
                let tls = listener.tls.withLockedValue { $0 }
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let tls { try sync.addHandler(NIOSSLServerHandler(context: tls)) }
                    try sync.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes)))
                    try sync.addHandler(HTTPHandshakeHandler(listener: listener, overCapacity: open > settings.maxConnections))
                }
            }
    }

    /// SIGHUP (CONTRACT §10): applies what may change without dropping a connection and
    /// logs by name each changed setting that needs a restart.
    /// - Throws: `StartError` when a file it names cannot be read or parsed; then nothing changes.
    public func reload(_ reloaded: Settings) throws {
        let policy = try AccessPolicy.load(reloaded)
        let tls = try TLSFiles.context(reloaded)
        if (tls == nil) != (settings.tlsCert == nil) {
            throw StartError(description: "turning TLS on or off needs a restart")
        }
        let changes = running.withLockedValue { running in
            defer { running = running.applyingReloadable(from: reloaded) }
            return reloaded.changes(from: running)
        }
        for change in changes {
            if change.reloadable {
                logger.info("setting reloaded", metadata: ["setting": "\(change.name)", "value": "\(change.newValue)"])
            } else {
                logger.warning("setting changed in the file but needs a restart", metadata: ["setting": "\(change.name)"])
            }
        }
        core.policy.replace(with: policy)
        if let tls {
            listener.tls.withLockedValue { $0 = tls }
            logger.info("TLS files reloaded for new connections", metadata: ["cert": "\(reloaded.tlsCert ?? "")"])
        }
        logger.info("access policy reloaded", metadata: [
            "auth": "\(policy.keys.map { "\($0.count) key(s)" } ?? "off")", "allow-anonymous": "\(policy.allowAnonymous.count)",
            "allowed-origin": "\(reloaded.allowedOrigin.count)",
        ])
    }

    /// Stops accepting, sends every subscriber what is queued and then close 1001, waits
    /// for them to go (at most the grace period), removes the socket file.
    public func shutdown() async {
        logger.info("shutting down", metadata: ["grace": "\(settings.shutdownGraceSeconds)s"])
        let deadline = NIODeadline.now() + .seconds(settings.shutdownGraceSeconds)
        try? await webSocketChannel.close()
        try? await publisherChannel.close()
        SocketFile.remove(settings.socketPath)
        let core = self.core
        try? await core.loop.submit { core.beginShutdown() }.get()
        // Wait for the WebSocket connections to finish their close handshakes; connections
        // still in their HTTP handshake have nothing queued and simply go with the loops.
        func openWebSockets() -> Int { core.outboxes.reduce(0) { $0 + $1.counters.connections.load(ordering: .relaxed) } }
        while openWebSockets() > 0 && NIODeadline.now() < deadline {
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        for service in listener.allServices {
            try? await service.outbox.loop.submit { service.stop() }.get()
        }
        try? await group.shutdownGracefully()
        logger.info("stopped")
    }
}
