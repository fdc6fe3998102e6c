import NIOCore
import NIOHTTP1
import NIOPosix
import Topics

#if canImport(Glibc)
import Glibc
#endif

/// A running broker: both listeners bound, the core started. `start` returns once both
/// accept connections; `shutdown` performs the graceful stop of CONTRACT §1.
final class HeraldServer: Sendable {
    struct StartError: Error, CustomStringConvertible {
        let description: String
    }

    var configuration: BrokerConfiguration { core.configuration }
    let group: MultiThreadedEventLoopGroup
    let core: BrokerCore
    let listener: ListenerContext
    let webSocketChannel: any Channel
    let publisherChannel: any Channel
    /// The port actually bound, which differs from the configured one for port 0.
    let port: Int

    private init(group: MultiThreadedEventLoopGroup, core: BrokerCore, listener: ListenerContext,
                 webSocketChannel: any Channel, publisherChannel: any Channel) {
        self.group = group
        self.core = core
        self.listener = listener
        self.webSocketChannel = webSocketChannel
        self.publisherChannel = publisherChannel
        self.port = webSocketChannel.localAddress?.port ?? core.configuration.listenPort
    }

    var readyLine: String {
        let host = configuration.listenHost.contains(":") ? "[\(configuration.listenHost)]" : configuration.listenHost
        return "herald ready ws://\(host):\(port) socket \(configuration.socketPath)"
    }

    static func start(_ configuration: BrokerConfiguration) async throws -> HeraldServer {
        try SocketFile.prepare(configuration.socketPath)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.threads))
        let loops = Array(group.makeIterator())
        // Sweep often enough that pings and idle closes are at most a quarter late.
        let sweepSeconds = min(1, max(0.01, min(configuration.pingIntervalSeconds, configuration.idleTimeoutSeconds) / 4))
        let outboxes = loops.map { LoopOutbox(loop: $0, sweepInterval: .nanoseconds(Int64(sweepSeconds * 1e9))) }
        let core = BrokerCore(loop: loops[0], outboxes: outboxes, configuration: configuration)
        let listener = ListenerContext(core: core)
        do {
            let publisherChannel = try await ServerBootstrap(group: core.loop)
                .serverChannelOption(.backlog, value: 256)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(PublisherHandler(core: core))
                    }
                }
                .bind(unixDomainSocketPath: configuration.socketPath, cleanupExistingSocketFile: false)
                .get()
            chmod(configuration.socketPath, 0o660)
            let webSocketChannel: any Channel
            do {
                webSocketChannel = try await webSocketBootstrap(group: group, listener: listener)
                    .bind(host: configuration.listenHost, port: configuration.listenPort).get()
            } catch {
                try? await publisherChannel.close()
                throw StartError(description: "cannot listen on \(configuration.listenHost):\(configuration.listenPort): \(error)")
            }
            return HeraldServer(group: group, core: core, listener: listener,
                                webSocketChannel: webSocketChannel, publisherChannel: publisherChannel)
        } catch {
            SocketFile.remove(configuration.socketPath)
            try? await group.shutdownGracefully()
            if error is StartError { throw error }
            throw StartError(description: "cannot start: \(error)")
        }
    }

    private static func webSocketBootstrap(group: MultiThreadedEventLoopGroup, listener: ListenerContext) -> ServerBootstrap {
        let configuration = listener.configuration
        let highWater = max(configuration.maxPendingBytes / 2, 2)
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
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes)))
                    try sync.addHandler(HTTPHandshakeHandler(listener: listener, overCapacity: open > configuration.maxConnections))
                }
            }
    }

    /// Stops accepting, sends every subscriber what is queued and then close 1001, waits
    /// for them to go (at most the grace period), removes the socket file.
    func shutdown() async {
        let deadline = NIODeadline.now() + .nanoseconds(Int64(configuration.shutdownGraceSeconds * 1e9))
        try? await webSocketChannel.close()
        try? await publisherChannel.close()
        SocketFile.remove(configuration.socketPath)
        let core = self.core
        try? await core.loop.submit { core.beginShutdown() }.get()
        // Wait for the WebSocket connections to finish their close handshakes; connections
        // still in their HTTP handshake have nothing queued and simply go with the loops.
        func openWebSockets() -> Int { core.outboxes.reduce(0) { $0 + $1.counters.connections.load(ordering: .relaxed) } }
        while openWebSockets() > 0 && NIODeadline.now() < deadline {
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        try? await group.shutdownGracefully()
    }
}
