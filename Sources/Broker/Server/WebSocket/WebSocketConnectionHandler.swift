import HeraldSettings
import Deflate
import HeraldAuth
import HeraldCore
import HeraldWire
import JSON
import Logging
import NIOCore
import NIOWebSocket

/// One subscriber's WebSocket after the handshake. The rules live in
/// `ConnectionStateMachine`; this handler feeds it frames, writability and time, and carries
/// out what it answers. Not Sendable on purpose: it lives on its channel's loop.
final class WebSocketConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler, SubscriberConnection, OutboundConnection {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// How long to wait for the client's close frame after sending ours.
    static let closeTimeout = TimeAmount.seconds(2 as Int64)

    let subscriber: Subscriber
    let core: BrokerCore
    let services: LoopServices
    private let route: HandshakeDecision.Route
    private var logger: Logger { services.logger }
    /// Touched only from this handler's own methods on its loop, never re-entrantly: the
    /// dynamic exclusivity checks would cost every delivery for nothing.
    @exclusivity(unchecked) var state: ConnectionStateMachine
    private(set) var context: ChannelHandlerContext?
    var flushScheduled = false
    var withheldBytes = 0
    /// Only while closing: the wait for the client's close frame.
    private var closeTimer: Scheduled<Void>?
    /// This connection's place in its loop's sweep list (see `LoopServices`).
    var sweepIndex = -1
    /// Messages received and not yet handled: read bursts are handled a bounded number of
    /// messages per trip to the core, so that one client's requests cost its loop no more
    /// than that per round (PROTOCOL.md §6); reads wait while any are left.
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
    /// A batch is with the core: no more reads until it is done, so that one connection
    /// never has more than one batch of requests waiting on the core loop (PROTOCOL.md §6).
    private var coreBusy = false
    /// A read NIO asked for while the core was busy or the socket could not take replies.
    private var readHeld = false

    /// The connection's token, for raw-mode publishes and expiry; JSON mode keeps its own
    /// copy on the core, which an `auth` op replaces.
    private var token: BoxedGrants?
    private var grants: Grants? { token?.grants }

    init(subscriber: Subscriber, core: BrokerCore, services: LoopServices, route: HandshakeDecision.Route, compressed: Bool,
         token: BoxedGrants?) {
        self.token = token
        self.subscriber = subscriber
        self.core = core
        self.services = services
        self.route = route
        let settings = services.settings
        self.frames = ClientFrameParser(maxFrameSize: settings.maxFrameBytes)
        // NIO buffers up to half the limit (its high water mark); the backlog holds the rest.
        self.state = ConnectionStateMachine(
            maxMessageBytes: settings.maxMessageBytes,
            compressed: compressed,
            backlogLimit: settings.maxPendingBytes / 2,
            policy: settings.slowConsumer == .drop ? .drop : .disconnect,
            now: .now()
        )
        state.tokenExpiry = Self.deadline(forExpiry: token?.grants.expiresAt)
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
        markClosed()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        markClosed()
        self.context = nil
    }

    private func markClosed() {
        closeTimer?.cancel()
        closeTimer = nil
        released(from: services.outbox.counters.connections)
    }

    // MARK: Outbound, from the core

    func deliver(_ delivery: Delivery) {
        guard let context else { return }
        switch delivery {
        case .handshake(let response):
            let early = state.handshakeSent()
            guard state.phase == .open else { return }
            context.writeAndFlush(wrapOutboundOut(response), promise: nil)
            services.startSweeping(self)
            for frame in early { handle(frame, context: context) }
        case .close(let code):
            for frames in state.drainForShutdown() { write(frames, context: context) }
            sendClose(code: code, reason: CloseCode.reason(for: code), context: context)
        default:
            deliverQueued(delivery, context: context)
        }
    }

    func disconnectSlowConsumer(dropped: Int, context: ChannelHandlerContext) {
        countSlowDisconnect(dropped: dropped, transport: "websocket", context: context)
        writeClose(code: CloseCode.policyViolation, reason: "slow consumer", context: context)
        resetDiscardingUnwritten(context: context)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        writabilityChanged(context: context)
        if state.isWritable { resumeReading(context: context) }
        context.fireChannelWritabilityChanged()
    }

    // MARK: Reading, within the connection's budget

    /// Reads stop while the socket cannot take what the connection owes the client (pongs,
    /// replies): a client that sends faster than it reads stalls itself, not the broker.
    func read(context: ChannelHandlerContext) {
        guard !coreBusy, received.isEmpty, state.isWritable else {
            readHeld = true
            return
        }
        context.read()
    }

    private func resumeReading(context: ChannelHandlerContext) {
        guard readHeld, !coreBusy, received.isEmpty, state.isWritable else { return }
        readHeld = false
        context.read()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if !coreBusy { handleReceived(context: context) }
        context.fireChannelReadComplete()
    }

    /// Turns the next few received messages into requests and hands them to the core in one
    /// `execute`; the core's answer brings the next few.
    private func handleReceived(context: ChannelHandlerContext) {
        var handled = 0
        while handled < Self.messagesPerBatch, state.phase == .open, nextReceived < received.count {
            let (payload, binary) = received[nextReceived]
            nextReceived += 1
            handled += 1
            request(payload, binary: binary, context: context)
        }
        if nextReceived == received.count || state.phase != .open {
            received = []
            nextReceived = 0
        }
        guard !forCore.isEmpty, !core.isStopping.load(ordering: .relaxed) else {
            forCore = []
            resumeReading(context: context)
            return
        }
        let batch = forCore
        forCore = []
        coreBusy = true
        let core = self.core
        let subscriber = self.subscriber
        let loop = context.eventLoop
        let handler = NIOLoopBound(self, eventLoop: loop)
        core.loop.execute {
            core.perform(batch, from: subscriber)
            loop.execute {
                let handler = handler.value
                handler.coreBusy = false
                guard let context = handler.context else { return }
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
        perform(state.frameReceived(frame, now: .now()), context: context)
    }

    private func perform(_ action: ConnectionStateMachine.InboundAction, context: ChannelHandlerContext) {
        switch action {
        case .none:
            break
        case .pong(let payload):
            let pong = FrameHeader.frame(opcode: .pong, payload: payload, allocator: context.channel.allocator)
            write(pong, context: context)
            context.flush()
        case .message(let text, let payload, let compressed):
            if compressed {
                guard let inflated = inflate(payload, context: context) else { return }
                perform(state.inflated(text: text, payload: inflated), context: context)
            } else {
                received.append((payload, !text))
            }
        case .fail(let code, let reason):
            sendClose(code: code, reason: reason, context: context)
        case .echoClose(let code):
            var payload = context.channel.allocator.buffer(capacity: 2)
            if let code { payload.writeInteger(code) }
            let frame = FrameHeader.frame(opcode: .connectionClose, payload: payload, allocator: context.channel.allocator)
            services.stopSweeping(self)
            context.writeAndFlush(wrapOutboundOut(frame)).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        case .closeConnection:
            context.close(promise: nil)
        }
    }

    private func inflate(_ payload: ByteBuffer, context: ChannelHandlerContext) -> ByteBuffer? {
        let limit = services.settings.maxMessageBytes
        guard let decompressor = services.decompressor else {
            sendClose(code: CloseCode.internalError, reason: "no decompressor", context: context)
            return nil
        }
        var output = context.channel.allocator.buffer(capacity: min(payload.readableBytes * 4, limit))
        do {
            try decompressor.decompress(payload, limit: limit, into: &output)
            return output
        } catch DeflateError.messageTooLarge {
            sendClose(code: CloseCode.tooBig, reason: "message inflates past \(limit) bytes", context: context)
        } catch {
            sendClose(code: CloseCode.protocolError, reason: "compressed data does not inflate", context: context)
        }
        return nil
    }

    private func request(_ payload: ByteBuffer, binary: Bool, context: ChannelHandlerContext) {
        switch route {
        case .raw(let pattern):
            guard let topic = pattern.exactName, core.policy.current.mayPublish(to: topic, grants: grants) else {
                sendClose(code: CloseCode.policyViolation, reason: "publishing to '\(pattern)' is not allowed", context: context)
                return
            }
            forCore.append(.publish(topic, payload, binary: binary))
        case .json:
            let request = binary
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
            state.tokenExpiry = Self.deadline(forExpiry: grants.expiresAt)
        case .failure(let error):
            services.outbox.counters.authFailures.wrappingIncrement(ordering: .relaxed)
            logger.info("auth refused", metadata: ["peer": "\(context.remoteAddress?.description ?? "?")", "reason": "\(error)"])
        }
        forCore.append(.authorize(result, id: id))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    /// Nothing more is parsed after a broken frame, so the client's close can never be
    /// seen: send ours, half-close, and let the client's EOF end the connection.
    private func protocolViolated(_ error: any Error, context: ChannelHandlerContext) {
        guard state.phase == .open else {
            context.close(promise: nil)
            return
        }
        if let error = error as? NIOWebSocketError, error == .invalidFrameLength {
            sendClose(code: CloseCode.tooBig, reason: "frame exceeds \(services.settings.maxFrameBytes) bytes", context: context)
        } else if error is NIOWebSocketError {
            sendClose(code: CloseCode.protocolError, reason: "invalid control frame", context: context)
        } else {
            context.close(promise: nil)
        }
    }

    // MARK: Closing, pings and the idle timeout

    /// Starts the close handshake: our close frame, then our half of TCP; the client's
    /// close frame or its EOF ends the connection, or the close timer does.
    private func sendClose(code: UInt16, reason: String, context: ChannelHandlerContext) {
        guard state.closeInitiated() else { return }
        writeClose(code: code, reason: reason, context: context)
        context.close(mode: .output, promise: nil)
        services.stopSweeping(self)
        closeTimer = context.eventLoop.assumeIsolated().scheduleTask(in: Self.closeTimeout) { [self] in
            recountWithheld(context: context)  // what NIO still holds never reaches the client
            context.close(promise: nil)
        }
    }

    private func writeClose(code: UInt16, reason: String, context: ChannelHandlerContext) {
        var payload = context.channel.allocator.buffer(capacity: 2 + reason.utf8.count)
        payload.writeInteger(code)
        payload.writeString(String(reason.utf8.prefix(120)) ?? "")
        let frame = FrameHeader.frame(opcode: .connectionClose, payload: payload, allocator: context.channel.allocator)
        write(frame, context: context)
        context.flush()
    }

    /// Called by the loop's sweep.
    func sweep(now: NIODeadline) {
        guard let context else { return }
        recountWithheld(context: context)
        let settings = services.settings
        switch state.sweep(now: now, idleTimeout: .seconds(settings.idleTimeoutSeconds), pingInterval: .seconds(settings.pingIntervalSeconds)) {
        case .none:
            break
        case .ping:
            let ping = FrameHeader.frame(opcode: .ping, payload: ByteBuffer(), allocator: context.channel.allocator)
            write(ping, context: context)
            context.flush()
        case .idleClose:
            sendClose(code: CloseCode.goingAway, reason: "idle timeout", context: context)
        case .tokenExpired:
            logger.info("token expired", metadata: ["peer": "\(context.remoteAddress?.description ?? "?")", "subject": "\(grants?.subject ?? "-")"])
            sendClose(code: CloseCode.tokenExpired, reason: "token expired", context: context)
        }
    }
}
