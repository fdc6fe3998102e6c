import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// One WebSocket connection to a broker, made of SwiftNIO's parts: `ClientBootstrap`, the
/// HTTP/1.1 client codec and `NIOTypedWebSocketClientUpgrader` for the handshake, NIO's
/// frame decoder and encoder after it, and `WebSocketClientHandler` for the rest of RFC 6455
/// and permessage-deflate (inbound).
///
/// Reads are pulled (`receive`, or `messages`), and the socket is read only as fast as
/// they are, so a slow reader makes a slow consumer at the broker, not a growing buffer here.
package final class WebSocketClient: Sendable {
    /// Adds handlers to a new channel, on its loop and before anything else, so that they
    /// sit under HTTP: the place for TLS (`wss://`).
    package typealias TransportSetup = @Sendable (any Channel) throws -> Void

    package let channel: any Channel
    private let handler: NIOLoopBound<WebSocketClientHandler>

    private init(channel: any Channel, handler: NIOLoopBound<WebSocketClientHandler>) {
        self.channel = channel
        self.handler = handler
    }

    deinit {
        channel.close(promise: nil)
    }

    /// Connects and upgrades. `timeout` covers both; `maxMessageBytes` bounds each message
    /// after inflating, so that a broken peer cannot make this process grow without bound.
    package static func connect(
        host: String,
        port: Int,
        path: String,
        offerCompression: Bool = true,
        headers extraHeaders: [(String, String)] = [],
        maxMessageBytes: Int = 1 << 26,
        timeout: TimeAmount = .seconds(10),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        transport: TransportSetup? = nil
    ) async throws -> WebSocketClient {
        var request = Self.upgradeRequest(host: host, port: port, path: path, offerCompression: offerCompression)
        request.headers.add(contentsOf: extraHeaders)
        let finishedRequest = request
        let upgrade: EventLoopFuture<Upgrade>
        do {
            upgrade = try await ClientBootstrap(group: group)
                .connectTimeout(timeout)
                .connect(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try transport?(channel)
                        return try Self.configureUpgrade(
                            channel, request: finishedRequest, offerCompression: offerCompression, maxMessageBytes: maxMessageBytes, timeout: timeout)
                    }
                }
        } catch {
            throw WebSocketClientError.cannotConnect(host: host, port: port, reason: Self.reason(error))
        }
        switch try await Self.outcome(of: upgrade) {
        case .upgraded(let channel, let handler):
            return WebSocketClient(channel: channel, handler: handler)
        case .refused(let refusal):
            throw try await refusal.get()
        }
    }

    /// The next message; nil once the broker has closed with a close frame (see
    /// `closeStatus`). Throws when the connection failed.
    package func receive() async throws -> WebSocketMessage? {
        try await channel.eventLoop.flatSubmit { self.handler.value.nextMessage(timeout: nil) }.get()
    }

    /// Like `receive()`, and throws `timedOut` when no message came in time; the
    /// connection stays usable.
    package func receive(timeout: TimeAmount) async throws -> WebSocketMessage? {
        try await channel.eventLoop.flatSubmit { self.handler.value.nextMessage(timeout: timeout) }.get()
    }

    /// Every message until the broker closes; for one reader at a time.
    package var messages: AsyncThrowingStream<WebSocketMessage, any Error> {
        AsyncThrowingStream { try await self.receive() }
    }

    package func send(_ message: WebSocketMessage) async throws {
        try await channel.writeAndFlush(message)
    }

    package func send(text: String) async throws {
        try await send(.text(text))
    }

    /// What the broker's close frame said, once `receive` has returned nil.
    package func closeStatus() async -> WebSocketCloseStatus? {
        try? await channel.eventLoop.submit { self.handler.value.closeStatus }.get()
    }

    /// Sends close 1000 and hangs up without waiting for the echo.
    package func close() async {
        try? await channel.close()
    }
}

extension WebSocketClient {
    private enum Upgrade: Sendable {
        case upgraded(any Channel, NIOLoopBound<WebSocketClientHandler>)
        case refused(EventLoopFuture<WebSocketClientError>)
    }

    private static func upgradeRequest(host: String, port: Int, path: String, offerCompression: Bool) -> HTTPRequestHead {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)")
        if offerCompression {
            headers.add(name: "Sec-WebSocket-Extensions", value: "permessage-deflate; client_max_window_bits")
        }
        return HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers)
    }

    private static func configureUpgrade(
        _ channel: any Channel, request: HTTPRequestHead, offerCompression: Bool, maxMessageBytes: Int, timeout: TimeAmount
    ) throws -> EventLoopFuture<Upgrade> {
        let upgrader = NIOTypedWebSocketClientUpgrader<Upgrade>(
            // Frames are bounded by the message limit, not NIO's 16 KiB default: the broker
            // sends a message as one frame however large.
            maxFrameSize: min(maxMessageBytes, Int(UInt32.max)),
            upgradePipelineHandler: { channel, response in
                channel.eventLoop.makeCompletedFuture {
                    let deflate = try DeflateAgreement.read(
                        responseHeaderValues: response.headers[canonicalForm: "sec-websocket-extensions"].map(String.init),
                        offered: offerCompression)
                    let handler = try WebSocketClientHandler(maxMessageBytes: maxMessageBytes, deflate: deflate, eventLoop: channel.eventLoop)
                    try channel.pipeline.syncOperations.addHandler(handler)
                    return .upgraded(channel, NIOLoopBound(handler, eventLoop: channel.eventLoop))
                }
            }
        )
        let upgrade = NIOTypedHTTPClientUpgradeConfiguration<Upgrade>(
            upgradeRequestHead: request,
            upgraders: [upgrader],
            notUpgradingCompletionHandler: { channel in
                channel.eventLoop.makeCompletedFuture {
                    let refusal = HandshakeRefusalHandler(eventLoop: channel.eventLoop)
                    try channel.pipeline.syncOperations.addHandler(refusal)
                    return .refused(refusal.refusal.futureResult)
                }
            }
        )
        var configuration = NIOUpgradableHTTPClientPipelineConfiguration(upgradeConfiguration: upgrade)
        // Frames the broker sends right behind its 101 (raw mode's retained messages) arrive
        // with it and must reach the frame decoder.
        configuration.leftOverBytesStrategy = .forwardBytes
        let result = try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(configuration: configuration)
        let deadline = channel.eventLoop.scheduleTask(in: timeout) {
            channel.pipeline.fireErrorCaught(WebSocketClientError.handshakeTimedOut(timeout))
        }
        result.whenComplete { outcome in
            deadline.cancel()
            if case .failure = outcome { channel.close(promise: nil) }
        }
        return result
    }

    private static func outcome(of upgrade: EventLoopFuture<Upgrade>) async throws -> Upgrade {
        do {
            return try await upgrade.get()
        } catch let error as WebSocketClientError {
            throw error
        } catch let error as NIOHTTPClientUpgradeError {
            switch error {
            case .upgraderDeniedUpgrade: throw WebSocketClientError.invalidHandshake("Sec-WebSocket-Accept does not match the key sent")
            case .responseProtocolNotFound: throw WebSocketClientError.invalidHandshake("the 101 response does not upgrade to websocket")
            default: throw WebSocketClientError.invalidHandshake("\(error)")
            }
        } catch let error as HTTPParserError {
            throw WebSocketClientError.invalidHandshake("malformed HTTP response (\(error))")
        } catch {
            throw WebSocketClientError.connectionLost
        }
    }

    /// The reason a connection attempt failed, in a few words (NIO's own description of
    /// a connection error spans every address it tried).
    private static func reason(_ error: any Error) -> String {
        if let error = error as? NIOConnectionError {
            if let first = error.connectionErrors.first { return reason(first.error) }
            return "cannot resolve the host name"
        }
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)).lowercased() }
        if case .connectTimeout? = error as? ChannelError { return "timed out" }
        return "\(error)"
    }
}
