import Deflate
import NIOCore
import NIOWebSocket
import Topics

#if canImport(Glibc)
import Glibc
#endif

/// One subscriber's WebSocket after the handshake: RFC 6455 inbound rules through
/// `MessageAssembler`, a bounded outbound queue with the slow-consumer policy, pings and
/// the idle timeout. Not Sendable on purpose: it lives on its channel's loop.
final class WebSocketConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = ByteBuffer

    private enum State {
        /// Waiting for the core to queue the 101; frames that arrive early wait too.
        case awaitingHandshake(early: [WebSocketFrame])
        case open
        /// A close frame has been sent; waiting for the client's, or for the timer.
        case closing
        case closed
    }

    /// How long to wait for the client's close frame after sending ours.
    static let closeTimeout = TimeAmount.seconds(2)

    let subscriber: Subscriber
    private let core: BrokerCore
    private let route: HandshakeDecision.Route
    /// Read through the core rather than copied: a copy would cost every connection the
    /// size of the whole settings struct.
    private var configuration: BrokerConfiguration { core.configuration }
    private var assembler: MessageAssembler
    private var context: ChannelHandlerContext?
    private var state = State.awaitingHandshake(early: [])

    /// Frames waiting while the channel is not writable; bounded by the slow-consumer limit.
    private var backlog = FrameBacklog()
    private let backlogLimit: Int
    private var flushScheduled = false
    /// The channel's writability, kept from its events: NIO reports crossing the high water
    /// mark synchronously from the write that crosses it, so this is never stale, and
    /// reading it costs nothing per message.
    private var isWritable = true

    private var lastInbound = NIODeadline.now()
    private var lastPing = NIODeadline.now()
    /// Only while closing: the wait for the client's close frame.
    private var closeTimer: Scheduled<Void>?
    /// This connection's place in its loop's sweep list (see `LoopOutbox.sweep`).
    var sweepIndex = -1

    init(subscriber: Subscriber, core: BrokerCore, route: HandshakeDecision.Route, compressed: Bool) {
        self.subscriber = subscriber
        self.core = core
        self.route = route
        let configuration = core.configuration
        self.assembler = MessageAssembler(maxMessageBytes: configuration.maxMessageBytes, compressionNegotiated: compressed)
        // NIO buffers up to half the limit (its high water mark); the backlog holds the rest.
        self.backlogLimit = max(configuration.maxPendingBytes / 2, 1)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        subscriber.connection = self
        subscriber.outbox.counters.connections.wrappingIncrement(ordering: .relaxed)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .closed = state {} else { markClosed() }
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if case .closed = state {} else { markClosed() }
        self.context = nil
    }

    private func markClosed() {
        state = .closed
        closeTimer?.cancel()
        closeTimer = nil
        subscriber.outbox.stopSweeping(self)
        _ = backlog.removeAll()
        subscriber.connection = nil
        subscriber.outbox.counters.connections.wrappingDecrement(ordering: .relaxed)
        let subscriber = self.subscriber
        let core = self.core
        core.loop.execute { core.detach(subscriber) }
    }

    // MARK: Outbound, from the core

    func deliver(_ delivery: Delivery) {
        guard let context else { return }
        switch delivery {
        case .handshake(let response):
            guard case .awaitingHandshake(let early) = state else { return }
            state = .open
            context.writeAndFlush(wrapOutboundOut(response), promise: nil)
            subscriber.outbox.startSweeping(self)
            for frame in early { handle(frame, context: context) }
        case .frames(let frames, let messages):
            guard case .open = state else { return }
            enqueue(frames, messages: messages, context: context)
        case .close(let code):
            guard case .open = state else { return }
            // Shutdown: what is queued goes out first, whatever the writability.
            while let frames = backlog.popFirst() { write(frames, context: context) }
            sendClose(code: code, reason: "server shutting down", context: context)
        }
    }

    private func enqueue(_ frames: ByteBuffer, messages: Int, context: ChannelHandlerContext) {
        if backlog.isEmpty && isWritable {
            write(frames, context: context)
            if !flushScheduled {
                flushScheduled = true
                subscriber.outbox.scheduleFlush(self)
            }
            return
        }
        backlog.append(frames, messages: messages)
        while backlog.bytes > backlogLimit {
            switch configuration.slowConsumer {
            case .disconnect:
                subscriber.outbox.droppedSinceBatch += backlog.removeAll()
                subscriber.outbox.counters.slowDisconnects.wrappingIncrement(ordering: .relaxed)
                sendClose(code: CloseCode.policyViolation, reason: "slow consumer", context: context)
                // A jammed client would take minutes to drain what the kernel still holds
                // for it: reset the connection so that memory is released now.
                _ = (context.channel as? any SocketOptionProvider)?.setSoLinger(linger(l_onoff: 1, l_linger: 0))
                context.close(promise: nil)
                return
            case .drop:
                subscriber.outbox.droppedSinceBatch += backlog.dropOldest()
            }
        }
    }

    private func write(_ frames: ByteBuffer, context: ChannelHandlerContext) {
        subscriber.outbox.bytesOutSinceBatch += frames.readableBytes
        context.write(wrapOutboundOut(frames), promise: nil)
    }

    func flushBatch() {
        flushScheduled = false
        context?.flush()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        isWritable = context.channel.isWritable
        if isWritable, case .open = state {
            while context.channel.isWritable, let frames = backlog.popFirst() { write(frames, context: context) }
            context.flush()
            subscriber.outbox.publishCounters()
        }
        context.fireChannelWritabilityChanged()
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        handle(unwrapInboundIn(data), context: context)
    }

    private func handle(_ frame: WebSocketFrame, context: ChannelHandlerContext) {
        lastInbound = .now()
        switch state {
        case .awaitingHandshake(var early):
            guard early.count < 16 else {
                context.close(promise: nil)
                return
            }
            early.append(frame)
            state = .awaitingHandshake(early: early)
            return
        case .closing:
            if frame.opcode == .connectionClose { context.close(promise: nil) }
            return
        case .closed:
            return
        case .open:
            break
        }
        switch assembler.receive(frame) {
        case .none:
            break
        case .ping(let payload):
            let pong = FrameHeader.frame(opcode: .pong, payload: payload, allocator: context.channel.allocator)
            subscriber.outbox.bytesOutSinceBatch += pong.readableBytes
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .close(let reply):
            var payload = context.channel.allocator.buffer(capacity: 2)
            if let reply { payload.writeInteger(reply) }
            let frame = FrameHeader.frame(opcode: .connectionClose, payload: payload, allocator: context.channel.allocator)
            state = .closing
            context.writeAndFlush(wrapOutboundOut(frame)).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        case .fail(let code, let reason):
            sendClose(code: code, reason: reason, context: context)
        case .message(let text, var payload, let compressed):
            if compressed {
                guard let inflated = inflate(payload, context: context) else { return }
                payload = inflated
            }
            if text && !UTF8Validation.isValid(payload) {
                sendClose(code: CloseCode.invalidData, reason: "text message is not valid UTF-8", context: context)
                return
            }
            received(payload, text: text, context: context)
        }
    }

    private func inflate(_ payload: ByteBuffer, context: ChannelHandlerContext) -> ByteBuffer? {
        guard let decompressor = subscriber.outbox.decompressor else {
            sendClose(code: 1011, reason: "no decompressor", context: context)
            return nil
        }
        var output = context.channel.allocator.buffer(capacity: min(payload.readableBytes * 4, configuration.maxMessageBytes))
        do {
            try decompressor.decompress(payload, limit: configuration.maxMessageBytes, into: &output)
            return output
        } catch DeflateError.messageTooLarge {
            sendClose(code: CloseCode.tooBig, reason: "message inflates past \(configuration.maxMessageBytes) bytes", context: context)
        } catch {
            sendClose(code: CloseCode.protocolError, reason: "compressed data does not inflate", context: context)
        }
        return nil
    }

    private func received(_ payload: ByteBuffer, text: Bool, context: ChannelHandlerContext) {
        let core = self.core
        let subscriber = self.subscriber
        switch route {
        case .raw(let pattern):
            guard let topic = pattern.exactName, configuration.allowsClientPublish(to: topic) else {
                sendClose(code: CloseCode.policyViolation, reason: "publishing to '\(pattern)' is not allowed", context: context)
                return
            }
            core.loop.execute { _ = core.publish(topic: topic, payload: payload, retain: false) }
        case .json:
            let request = text
                ? ClientRequest.parse(payload)
                : ClientRequest(id: nil, operation: .failure(.init(code: "bad_request", message: "requests are JSON text messages")))
            core.loop.execute { core.handle(request, from: subscriber) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard case .open = state else { return }
        if let error = error as? NIOWebSocketError, error == .invalidFrameLength {
            sendClose(code: CloseCode.tooBig, reason: "frame exceeds \(configuration.maxFrameBytes) bytes", context: context)
        } else if error is NIOWebSocketError {
            sendClose(code: CloseCode.protocolError, reason: "invalid control frame", context: context)
        } else {
            context.close(promise: nil)
        }
    }

    // MARK: Closing, pings and the idle timeout

    private func sendClose(code: UInt16, reason: String, context: ChannelHandlerContext) {
        guard case .open = state else { return }
        state = .closing
        var payload = context.channel.allocator.buffer(capacity: 2 + reason.utf8.count)
        payload.writeInteger(code)
        payload.writeString(String(reason.utf8.prefix(120)) ?? "")
        let frame = FrameHeader.frame(opcode: .connectionClose, payload: payload, allocator: context.channel.allocator)
        context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
        subscriber.outbox.stopSweeping(self)
        closeTimer = context.eventLoop.assumeIsolated().scheduleTask(in: Self.closeTimeout) { context.close(promise: nil) }
    }

    /// Called by the loop's sweep: close an idle connection, ping a quiet one.
    func sweep(now: NIODeadline) {
        guard let context, case .open = state else { return }
        if now - lastInbound >= .nanoseconds(Int64(configuration.idleTimeoutSeconds * 1e9)) {
            sendClose(code: CloseCode.goingAway, reason: "idle timeout", context: context)
            return
        }
        if now - lastPing >= .nanoseconds(Int64(configuration.pingIntervalSeconds * 1e9)) {
            lastPing = now
            let ping = FrameHeader.frame(opcode: .ping, payload: ByteBuffer(), allocator: context.channel.allocator)
            context.writeAndFlush(wrapOutboundOut(ping), promise: nil)
        }
    }
}
