import HeraldSettings
import HeraldCore
import HeraldBackplane
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A running broker, embeddable in another Swift program: `start` binds both listeners and
/// returns once they accept connections; `reload` applies what SIGHUP may change;
/// `shutdown` is the graceful stop of PROTOCOL.md §1.
public final class HeraldServer: Sendable {
    public struct StartError: Error, CustomStringConvertible {
        public let description: String
    }

    /// The settings the broker started with; `reload` changes only the reloadable ones.
    public let settings: Settings
    private let running: NIOLockedValueBox<Settings>
    let loops: EventLoops
    let listener: ListenerContext
    var core: BrokerCore { listener.core }
    let webSocketChannel: any Channel
    let publisherChannel: any Channel
    private let logger: Logger
    /// The port actually bound, which differs from the configured one for port 0.
    public let port: Int

    private init(loops: EventLoops, listener: ListenerContext, webSocketChannel: any Channel, publisherChannel: any Channel) {
        self.settings = listener.settings
        self.running = NIOLockedValueBox(listener.settings)
        self.logger = listener.logger
        self.loops = loops
        self.listener = listener
        self.webSocketChannel = webSocketChannel
        self.publisherChannel = publisherChannel
        self.port = webSocketChannel.localAddress?.port ?? settings.listenPort
    }

    /// PROTOCOL.md §1: the line a supervisor or test waits for.
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
        let loops = EventLoops(threads: settings.threads)
        do {
            try await SocketFile.prepare(settings.socketPath, group: loops.core)
        } catch {
            await loops.shutdown()
            throw error
        }
        // Sweep often enough that pings and idle closes are at most a quarter late.
        let sweepSeconds = min(1, max(0.01, min(settings.pingIntervalSeconds, settings.idleTimeoutSeconds) / 4))
        let outboxes = loops.all.map { LoopOutbox(loop: $0) }
        let services = outboxes.map { LoopServices(outbox: $0, settings: settings, sweepInterval: .seconds(sweepSeconds), logger: logger) }
        for service in services {
            try await service.outbox.loop.submit { service.outbox.afterBatch = { service.flushBatch() } }.get()
        }
        let core = BrokerCore(loop: loops.coreLoop, outboxes: outboxes, configuration: .init(settings), policy: policy, logger: logger)
        let listener = ListenerContext(core: core, services: services, settings: settings, tls: tls, logger: logger)
        try await core.loop.submit {
            core.startExpirySweep()
            _ = MemoryRelease.start(on: core.loop)
        }.get()
        if let redis = settings.redis {
            let backplane: RedisBackplane
            do {
                backplane = try RedisBackplane(url: redis, prefix: settings.redisPrefix, core: core, logger: logger)
            } catch {
                await loops.shutdown()
                throw StartError(description: "invalid --redis: \(error)")
            }
            try await core.loop.flatSubmit {
                core.backplane = backplane
                return backplane.start()
            }.get()
        }
        do {
            let publisherChannel: any Channel
            do {
                publisherChannel = try await publisherBootstrap(core: core, listener: listener)
                    .bind(unixDomainSocketPath: settings.socketPath, cleanupExistingSocketFile: false).get()
            } catch {
                throw StartError(description: BindFailure.socket(error, path: settings.socketPath))
            }
            chmod(settings.socketPath, 0o660)
            let webSocketChannel: any Channel
            do {
                webSocketChannel = try await webSocketBootstrap(group: loops.connections, listener: listener)
                    .bind(host: settings.listenHost, port: settings.listenPort).get()
            } catch {
                try? await publisherChannel.close()
                throw StartError(description: BindFailure.listener(error, host: settings.listenHost, port: settings.listenPort))
            }
            return HeraldServer(loops: loops, listener: listener, webSocketChannel: webSocketChannel, publisherChannel: publisherChannel)
        } catch {
            SocketFile.remove(settings.socketPath)
            await loops.shutdown()
            if error is StartError { throw error }
            throw StartError(description: "cannot start: \(error)")
        }
    }

    /// A connection accepted past `--max-handshakes`, closed at once.
    private struct TooManyHandshakes: Error {}

    /// What a connection reads with once upgraded (see the listener's bootstrap): at most
    /// one read of up to 16 KiB per turn of its loop (`upgradedReadsPerTurn`). The bound is
    /// on bytes because a frame is at least 6: a client sending 1-byte frames costs its loop
    /// at most ~2,700 frames a turn, not the 37,000 that four 64 KiB reads held, so that 50
    /// such clients cannot hold up deliveries to others (BENCHMARKS.md, issue 19).
    static let upgradedReceiveAllocator = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 256, maximum: 16384)
    static let upgradedReadsPerTurn: UInt = 1

    private static func publisherBootstrap(core: BrokerCore, listener: ListenerContext) -> ServerBootstrap {
        let settings = listener.settings
        return ServerBootstrap(group: core.loop)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(AcceptBackoffHandler()) }
            }
            // Replies a publisher has not read count against its budget (PROTOCOL.md §6).
            .childChannelOption(.writeBufferWaterMark, value: .init(low: max(settings.maxPendingBytes / 2, 1), high: max(settings.maxPendingBytes, 2)))
            .childChannelInitializer { channel in
                // Both kinds of publisher count in STATS `publishers` (PROTOCOL.md §9).
                core.publishers += 1
                channel.closeFuture.whenComplete { _ in core.publishers -= 1 }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(PublisherProtocolSniffer(core: core, settings: settings, metrics: listener.metrics))
                }
            }
    }

    private static func webSocketBootstrap(group: any EventLoopGroup, listener: ListenerContext) -> ServerBootstrap {
        let settings = listener.settings
        let highWater = max(settings.maxPendingBytes / 2, 2)
        return ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: highWater / 2, high: highWater))
            // Each channel keeps its last receive buffer for the next read. Subscribers send
            // little (a handshake, pongs), so it stays small: NIO's default of 2 KiB would be
            // the largest part of an idle connection's memory. The handshake is read 256
            // bytes at a time, so that a long request (a token in it) does not leave a larger
            // buffer behind; after the upgrade the buffer may grow for bursts.
            .childChannelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 256))
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        AcceptBackoffHandler(),
                        AcceptGate(
                            openSockets: listener.openSockets, limit: listener.socketLimit,
                            handshakes: listener.handshakes, handshakeLimit: settings.maxHandshakes)
                    )
                }
            }
            .childChannelInitializer { channel in
                listener.openSockets.wrappingIncrement(ordering: .relaxed)
                channel.closeFuture.whenComplete { _ in listener.openSockets.wrappingDecrement(ordering: .relaxed) }
                // `AcceptGate` stops accepting at the limit, but connections accepted in the
                // same burst are counted only here: one past the limit is closed at once
                // rather than holding a descriptor through a handshake it may never send.
                guard listener.handshakes.wrappingIncrementThenLoad(ordering: .relaxed) <= settings.maxHandshakes else {
                    listener.handshakes.wrappingDecrement(ordering: .relaxed)
                    return channel.eventLoop.makeFailedFuture(TooManyHandshakes())
                }
                let tls = listener.tls.withLockedValue { $0 }
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let tls { try sync.addHandler(NIOSSLServerHandler(context: tls)) }
                    try sync.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes)))
                    try sync.addHandler(HTTPHandshakeHandler(listener: listener))
                }
            }
    }

    /// SIGHUP (PROTOCOL.md §10): applies what may change without dropping a connection and
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
        logger.info(
            "access policy reloaded",
            metadata: [
                "auth": "\(policy.keys.map { "\($0.count) key(s)" } ?? "off")", "allow-anonymous": "\(policy.allowAnonymous.count)",
                "allowed-origin": "\(reloaded.allowedOrigin.count)",
            ])
    }

    /// PROTOCOL.md §1, in order and within `--shutdown-grace` however busy the broker is:
    /// publishers are refused from now on, listeners stop accepting, each subscriber gets what
    /// was accepted before and then close 1001; connections still open at the deadline are
    /// dropped, and the loops stop, connections' first, so that nothing is scheduled on a
    /// loop that has already stopped.
    public func shutdown() async {
        logger.info("shutting down", metadata: ["grace": "\(settings.shutdownGraceSeconds)s"])
        let deadline = NIODeadline.now() + .seconds(settings.shutdownGraceSeconds)
        let core = self.core
        try? await core.loop.submit { core.beginShutdown() }.get()
        logger.debug("publishers refused, closes queued")
        try? await webSocketChannel.close()
        try? await publisherChannel.close()
        SocketFile.remove(settings.socketPath)
        // Leave a tenth of the grace for the loops to stop.
        let drainDeadline = deadline - .seconds(settings.shutdownGraceSeconds / 10)
        while listener.openSubscribers > 0 && NIODeadline.now() < drainDeadline {
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        logger.debug("connections drained", metadata: ["open": "\(listener.openSubscribers)"])
        core.isStopping.store(true, ordering: .relaxed)
        try? await core.loop.submit { core.backplane?.stop() }.get()
        for service in listener.allServices {
            try? await service.outbox.loop.submit { service.stop() }.get()
        }
        logger.debug("stopping the loops")
        await loops.shutdown()
        logger.info("stopped", metadata: ["connections dropped": "\(listener.openSubscribers)"])
    }
}
