import HeraldSettings
import Deflate
import HeraldAuth
import HeraldConnection
import HeraldCore
import HeraldWire
import JSON
import Logging
import NIOCore
import NIOWebSocket

/// One subscriber's WebSocket after the handshake. The rules live in
/// `ConnectionStateMachine`; this handler feeds it every input (frames, reads, writability,
/// time) and carries out what it answers in `run`. Not Sendable on purpose: it lives on its
/// channel's loop.
final class WebSocketConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler, SubscriberConnection, LoopConnection {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// How long to wait for the client's close frame after sending ours.
    static let closeTimeout = TimeAmount.seconds(2 as Int64)

    /// Touched per delivery, like `state` below: unchecked for the same reason.
    @exclusivity(unchecked) private var outbound: OutboundQueue
    private var subscriber: Subscriber { outbound.subscriber }
    private var core: BrokerCore { outbound.core }
    private var services: LoopServices { outbound.services }
    private let route: HandshakeDecision.Route
    private var logger: Logger { services.logger }
    /// Touched only from this handler's own methods on its loop, never re-entrantly: the
    /// dynamic exclusivity checks would cost every delivery for nothing.
    @exclusivity(unchecked) private var state: ConnectionStateMachine
    private var context: ChannelHandlerContext?
    /// Only while closing: the wait for the client's close frame.
    private var closeTimer: Scheduled<Void>?
    /// This connection's place in its loop's sweep list (see `LoopServices`).
    var sweepIndex = -1
    /// Messages received and not yet handled: read bursts are handled a bounded number of
    /// messages per trip to the core, so that one client's requests cost its loop no more
    /// than that per round (PROTOCOL.md §6); the state machine holds reads while any are left.
    /// An array read from `nextReceived` rather than a ring: empty, it costs an idle
    /// connection no allocation.
    private var received: [(payload: ByteBuffer, binary: Bool)] = []
    /// The client's frames, cut from what the socket reads; nil once a frame broke the
    /// protocol, after which nothing more is read from the client.
    private var frames: ClientFrameParser?
    private var nextReceived = 0
    static let messagesPerBatch = 16
    /// The batch being made for the core.
    private var forCore: [CoreRequest] = []

    /// The connection's token, for raw-mode publishes and expiry; JSON mode keeps its own
    /// copy on the core, which an `auth` op replaces.
    private var token: BoxedGrants?
    private var grants: Grants? { token?.grants }

    init(
        subscriber: Subscriber, core: BrokerCore, services: LoopServices, route: HandshakeDecision.Route, compressed: Bool,
        token: BoxedGrants?
    ) {
        self.token = token
        self.outbound = OutboundQueue(subscriber: subscriber, core: core, services: services)
        self.route = route
        let settings = services.settings
        self.frames = ClientFrameParser(maxFrameSize: settings.maxFrameBytes)
        // NIO buffers up to half the limit (its high water mark); the backlog holds the rest.
        self.state = ConnectionStateMachine(
            maxMessageBytes: settings.maxMessageBytes,
            compressed: compressed,
            backlogLimit: settings.maxPendingBytes / 2,
            policy: settings.slowConsumer == .drop ? .drop : .disconnect,
            now: .now(),
            tokenExpiry: Self.deadline(forExpiry: token?.grants.expiresAt)
        )
    }

    /// A token's `exp` (wall-clock seconds) as a deadline on the monotonic clock the sweep reads.
    private static func deadline(forExpiry expiresAt: Double?) -> NIODeadline? {
        expiresAt.map { .now() + .seconds(max(0, $0 - WallClock.now())) }
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        subscriber.connection = self
        services.outbox.counters.connections.wrappingIncrement(ordering: .relaxed)
    }

    func channelInactive(context: ChannelHandlerContext) {
        run(state.channelClosed(), context: context)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        run(state.channelClosed(), context: context)
        self.context = nil
    }

    // MARK: Outbound, from the core

    func deliver(_ delivery: Delivery) {
        guard let context else { return }
        switch delivery {
        case .handshake(let response):
            run(state.handshakeQueued(response), context: context)
        case .close(let code):
            run(state.shutdownRequested(code: code), context: context)
        default:
            let action = state.delivered(delivery)
            if case .write = action, outbound.flushWanted() { services.scheduleFlush(self) }
            run(outbound.carryOut(action, of: delivery, context: context), context: context)
        }
    }

    func flush() {
        outbound.flushing()
        context?.flush()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        outbound.recountWithheld(context: context)
        run(state.writabilityChanged(context.channel.isWritable), context: context)
        context.fireChannelWritabilityChanged()
    }

    // MARK: Reading, within the connection's budget

    func read(context: ChannelHandlerContext) {
        run(state.readRequested(), context: context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if !state.awaitsCore { handleReceived(context: context) }
        context.fireChannelReadComplete()
    }

    /// Turns the next few received messages into requests and hands them to the core in one
    /// `execute`; the core's answer brings the next few.
    private func handleReceived(context: ChannelHandlerContext) {
        var handled = 0
        while handled < Self.messagesPerBatch, state.isOpen, nextReceived < received.count {
            let (payload, binary) = received[nextReceived]
            nextReceived += 1
            handled += 1
            request(payload, binary: binary, context: context)
        }
        if nextReceived == received.count || !state.isOpen {
            received = []
            nextReceived = 0
        }
        guard !forCore.isEmpty, !core.isStopping.load(ordering: .relaxed) else {
            forCore = []
            run(state.receivedHandled(sentToCore: false, pendingMessages: !received.isEmpty), context: context)
            return
        }
        let batch = forCore
        forCore = []
        run(state.receivedHandled(sentToCore: true, pendingMessages: !received.isEmpty), context: context)
        let core = self.core
        let subscriber = self.subscriber
        let loop = context.eventLoop
        let handler = NIOLoopBound(self, eventLoop: loop)
        core.loop.execute {
            core.perform(batch, from: subscriber)
            loop.execute {
                let handler = handler.value
                guard let context = handler.context else { return }
                handler.run(handler.state.requestsHandled(), context: context)
                handler.handleReceived(context: context)
            }
        }
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard var parser = frames.take() else { return }
        do {
            try parser.parse(unwrapInboundIn(data)) { handle($0, context: context) }
            frames = parser
        } catch {
            protocolViolated(error, context: context)
        }
    }

    private func handle(_ frame: WebSocketFrame, context: ChannelHandlerContext) {
        run(state.frameReceived(frame, now: .now()), context: context)
    }

    // MARK: Carrying out the state machine's actions

    func run(_ action: ConnectionStateMachine.Action, context: ChannelHandlerContext) {
        switch action {
        case .none, .hold:
            break
        case .sendHandshake(let response, let early):
            context.writeAndFlush(wrapOutboundOut(response), promise: nil)
            services.startSweeping(self)
            for frame in early { handle(frame, context: context) }
        case .write, .queued:
            assertionFailure("carried out by OutboundQueue.carryOut, which holds the frames")
        case .disconnectSlowConsumer(let dropped):
            outbound.countSlowDisconnect(dropped: dropped, transport: "websocket", context: context)
            writeClose(code: CloseCode.policyViolation, reason: "slow consumer", context: context)
            outbound.discardUnwritten(context: context)
            context.close(promise: nil)
        case .markLagging:
            subscriber.lagging.store(true, ordering: .relaxed)
        case .resume(let drain, let read):
            outbound.drain(drain, context: context) { [self] in generationWritten() }
            if read { context.read() }
        case .continueReplay:
            outbound.continueReplay()
        case .shutdown(let drained, let code):
            for frames in drained { outbound.write(frames, context: context) }
            beginCloseHandshake(code: code, reason: CloseCode.reason(for: code), context: context)
        case .pong(let payload):
            let pong = FrameHeader.frame(opcode: .pong, payload: payload, allocator: context.channel.allocator)
            outbound.write(pong, context: context)
            context.flush()
        case .message(let text, let payload, let compressed):
            if compressed {
                guard let inflated = inflate(payload, context: context) else { return }
                run(state.messageInflated(text: text, payload: inflated), context: context)
            } else {
                received.append((payload, !text))
                run(state.messageKept(), context: context)
            }
        case .sendClose(let code, let reason):
            beginCloseHandshake(code: code, reason: reason, context: context)
        case .echoClose(let code):
            var payload = context.channel.allocator.buffer(capacity: 2)
            if let code { payload.writeInteger(code) }
            let frame = FrameHeader.frame(opcode: .connectionClose, payload: payload, allocator: context.channel.allocator)
            services.stopSweeping(self)
            context.writeAndFlush(wrapOutboundOut(frame)).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        case .closeConnection:
            context.close(promise: nil)
        case .released(let undelivered):
            closeTimer?.cancel()
            closeTimer = nil
            outbound.released(undelivered, from: services.outbox.counters.connections, connection: self)
        case .read:
            context.read()
        case .ping:
            let ping = FrameHeader.frame(opcode: .ping, payload: ByteBuffer(), allocator: context.channel.allocator)
            outbound.write(ping, context: context)
            context.flush()
        case .tokenExpired:
            logger.info("token expired", metadata: ["peer": "\(context.remoteAddress?.description ?? "?")", "subject": "\(grants?.subject ?? "-")"])
            beginCloseHandshake(code: CloseCode.tokenExpired, reason: "token expired", context: context)
        }
    }

    private func inflate(_ payload: ByteBuffer, context: ChannelHandlerContext) -> ByteBuffer? {
        let limit = services.settings.maxMessageBytes
        guard let decompressor = services.decompressor else {
            run(state.closeRequested(code: CloseCode.internalError, reason: "no decompressor"), context: context)
            return nil
        }
        var output = context.channel.allocator.buffer(capacity: min(payload.readableBytes * 4, limit))
        do {
            try decompressor.decompress(payload, limit: limit, into: &output)
            return output
        } catch DeflateError.messageTooLarge {
            run(state.closeRequested(code: CloseCode.tooBig, reason: "message inflates past \(limit) bytes"), context: context)
        } catch {
            run(state.closeRequested(code: CloseCode.protocolError, reason: "compressed data does not inflate"), context: context)
        }
        return nil
    }

    private func request(_ payload: ByteBuffer, binary: Bool, context: ChannelHandlerContext) {
        switch route {
        case .raw(let pattern):
            guard let topic = pattern.exactName, core.policy.current.mayPublish(to: topic, grants: grants) else {
                run(state.closeRequested(code: CloseCode.policyViolation, reason: "publishing to '\(pattern)' is not allowed"), context: context)
                return
            }
            forCore.append(.publish(topic, payload, binary: binary))
        case .json:
            let request =
                binary
                ? ClientRequest(id: nil, operation: .failure(.init(code: "bad_request", message: "requests are JSON text messages")))
                : ClientRequest.parse(payload)
            if case .success(.auth(let token)) = request.operation {
                authorize(token: token, id: request.id, context: context)
                return
            }
            forCore.append(.request(request))
        }
    }

    /// The JSON `auth` op: verified here, on the connection's loop, so the core loop never
    /// spends time on a signature; the core then swaps the grants and answers.
    private func authorize(token: String, id: JSONValue?, context: ChannelHandlerContext) {
        guard let keys = core.policy.current.keys else {
            services.outbox.counters.authFailures.wrappingIncrement(ordering: .relaxed)  // every refused auth op counts
            forCore.append(.authorize(.failure(TokenError(.malformed, "access control is off")), id: id))
            return
        }
        let result = TokenVerifier.verify(token: token, keys: keys, now: WallClock.now())
        switch result {
        case .success(let grants):
            self.token = BoxedGrants(grants)
            run(state.tokenRenewed(expiry: Self.deadline(forExpiry: grants.expiresAt)), context: context)
        case .failure(let error):
            services.outbox.counters.authFailures.wrappingIncrement(ordering: .relaxed)
            logger.info("auth refused", metadata: ["peer": "\(context.remoteAddress?.description ?? "?")", "reason": "\(error)"])
        }
        forCore.append(.authorize(result, id: id))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func protocolViolated(_ error: any Error, context: ChannelHandlerContext) {
        run(state.protocolViolated(error, maxFrameBytes: services.settings.maxFrameBytes), context: context)
    }

    // MARK: Closing, pings and the idle timeout

    /// Starts the close handshake: our close frame, then our half of TCP; the client's
    /// close frame or its EOF ends the connection, or the close timer does.
    private func beginCloseHandshake(code: UInt16, reason: String, context: ChannelHandlerContext) {
        writeClose(code: code, reason: reason, context: context)
        context.close(mode: .output, promise: nil)
        services.stopSweeping(self)
        closeTimer = context.eventLoop.assumeIsolated().scheduleTask(in: Self.closeTimeout) { [self] in
            outbound.recountWithheld(context: context)  // what NIO still holds never reaches the client
            context.close(promise: nil)
        }
    }

    private func writeClose(code: UInt16, reason: String, context: ChannelHandlerContext) {
        var payload = context.channel.allocator.buffer(capacity: 2 + reason.utf8.count)
        payload.writeInteger(code)
        payload.writeString(String(reason.utf8.prefix(120)) ?? "")
        let frame = FrameHeader.frame(opcode: .connectionClose, payload: payload, allocator: context.channel.allocator)
        outbound.write(frame, context: context)
        context.flush()
    }

    /// The last generation a lagging connection wrote is on the socket.
    private func generationWritten() {
        guard let context else { return }
        outbound.recountWithheld(context: context)
        run(state.generationWritten(), context: context)
    }

    /// Called by the loop's sweep.
    func sweep(now: NIODeadline) {
        guard let context else { return }
        outbound.recountWithheld(context: context)
        let settings = services.settings
        run(state.sweep(now: now, idleTimeout: .seconds(settings.idleTimeoutSeconds), pingInterval: .seconds(settings.pingIntervalSeconds)), context: context)
    }
}
