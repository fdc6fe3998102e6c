import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// One connection to Redis, shared freely between threads: every operation goes through the
/// channel, which runs it on the connection's loop.
public final class RedisConnection: Sendable {
    private let channel: any Channel

    package init(channel: any Channel) {
        self.channel = channel
    }

    /// Connects, then (pipelined) sends `HELLO 3` (falling back to RESP2 if HELLO fails with
    /// an error: then AUTH if a password), AUTH when the URL has a password (HELLO 3 AUTH
    /// user pass form), SELECT db when db != 0. The future fails with `RedisError` if any
    /// step fails; only a socket that cannot be opened at all (refused, unresolvable host)
    /// fails with NIO's own error, which says more than any case of `RedisError` could.
    /// `connectTimeout` bounds connecting and the handshake together.
    public static func connect(
        to url: RedisURL,
        on eventLoop: any EventLoop,
        connectTimeout: TimeAmount = .seconds(2)
    ) -> EventLoopFuture<RedisConnection> {
        let deadline = NIODeadline.now() + connectTimeout
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(connectTimeout)
            // Commands are small and a pipeline is flushed as one write: Nagle would only
            // hold each back for an acknowledgement.
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(RESPDecoder()),
                        RedisCommandHandler()
                    )
                }
            }
        let connected: EventLoopFuture<any Channel>
        switch url.address {
        case .tcp(let host, let port):
            connected = bootstrap.connect(host: host, port: port)
        case .unix(let path):
            connected = bootstrap.connect(unixDomainSocketPath: path)
        }
        return connected.hop(to: eventLoop).flatMapError { error in
            if case ChannelError.connectTimeout = error {
                return eventLoop.makeFailedFuture(RedisError.timeout)
            }
            return eventLoop.makeFailedFuture(error)
        }.flatMap { channel in
            let connection = RedisConnection(channel: channel)
            // A server that accepts but never answers would otherwise hold the handshake
            // forever; closing the socket fails every pending step.
            let timedOut = NIOLockedValueBox(false)
            let timeout = eventLoop.scheduleTask(deadline: deadline) {
                timedOut.withLockedValue { $0 = true }
                channel.close(promise: nil)
            }
            return connection.handshake(url).hop(to: eventLoop).flatMapThrowing { _ in
                timeout.cancel()
                if timedOut.withLockedValue({ $0 }) { throw RedisError.timeout }
                return connection
            }.flatMapError { error in
                timeout.cancel()
                channel.close(promise: nil)
                return eventLoop.makeFailedFuture(timedOut.withLockedValue { $0 } ? RedisError.timeout : error)
            }
        }
    }

    /// Sends one command (arguments as bulk strings) and returns its reply; commands may be
    /// sent back to back without waiting (pipelining): replies complete in order through a
    /// FIFO of promises. Callable from any thread; writes happen on the connection's loop.
    /// An error reply succeeds as `.error(...)` so the caller can handle codes like NOSCRIPT;
    /// the future fails only with `RedisError.connectionClosed` or `.protocolError`.
    public func send(_ arguments: [RESPArgument]) -> EventLoopFuture<RESPValue> {
        enqueue(arguments, flush: true)
    }

    /// Like `send`, but leaves the bytes in the channel until `flush()`, so that a batch
    /// leaves in one write.
    public func sendWithoutFlush(_ arguments: [RESPArgument]) -> EventLoopFuture<RESPValue> {
        enqueue(arguments, flush: false)
    }

    public func flush() {
        channel.flush()
    }

    public var eventLoop: any EventLoop { channel.eventLoop }

    /// Completes when the socket closes for any reason.
    public var closeFuture: EventLoopFuture<Void> { channel.closeFuture }

    /// Closes the socket (pending commands fail with `connectionClosed`); completes once it
    /// is closed, also when it already was.
    public func close() -> EventLoopFuture<Void> {
        channel.close(promise: nil)
        return channel.closeFuture
    }

    public var isConnected: Bool { channel.isActive }

    private func enqueue(_ arguments: [RESPArgument], flush: Bool) -> EventLoopFuture<RESPValue> {
        let reply = channel.eventLoop.makePromise(of: RESPValue.self)
        // After the channel closes its handlers are removed, and a write would be dropped
        // without reaching the FIFO: the failed write then fails the reply instead.
        let written = channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenFailure { _ in reply.fail(RedisError.connectionClosed) }
        let command = RedisCommand(arguments: arguments, promise: reply)
        if flush {
            channel.writeAndFlush(command, promise: written)
        } else {
            channel.write(command, promise: written)
        }
        return reply.futureResult
    }
}
