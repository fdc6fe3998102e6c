import HeraldAuth
import HeraldConnection
import HeraldCore
import HeraldWire
import Logging
import NIOCore

/// One server-sent-event stream after its request passed (PROTOCOL.md §12). The outbound rules
/// are the WebSocket connection's (`ConnectionStateMachine`: backlog, budget, slow-consumer
/// policy, replay pacing), so streams get the same limits; the client never sends, so there
/// is no idle timeout, and a `: ping` comment goes out every `--ping-interval`.
final class EventStreamHandler: ChannelDuplexHandler, SubscriberConnection, LoopConnection {
    typealias InboundIn = NIOAny
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Touched per delivery, only from this handler's own methods on its loop: unchecked, as `state`.
    @exclusivity(unchecked) private var outbound: OutboundQueue
    private var subscriber: Subscriber { outbound.subscriber }
    private var core: BrokerCore { outbound.core }
    private var services: LoopServices { outbound.services }
    private var logger: Logger { services.logger }
    @exclusivity(unchecked) private var state: ConnectionStateMachine
    private var context: ChannelHandlerContext?
    var sweepIndex = -1
    private let subject: String?

    init(subscriber: Subscriber, core: BrokerCore, services: LoopServices, token: BoxedGrants?) {
        self.outbound = OutboundQueue(subscriber: subscriber, core: core, services: services)
        self.subject = token?.grants.subject
        let settings = services.settings
        self.state = ConnectionStateMachine(
            maxMessageBytes: settings.maxMessageBytes, compressed: false, backlogLimit: settings.maxPendingBytes / 2,
            policy: settings.slowConsumer == .drop ? .drop : .disconnect, now: .now(),
            tokenExpiry: token?.grants.expiresAt.map { .now() + .seconds(max(0, $0 - WallClock.now())) }
        )
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        subscriber.connection = self
        services.outbox.counters.sseConnections.wrappingIncrement(ordering: .relaxed)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        run(state.channelClosed(), context: context)
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        run(state.channelClosed(), context: context)
        context.fireChannelInactive()
    }

    /// The client has nothing to say on an event stream; whatever it sends is dropped.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    // MARK: From the core

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

    func run(_ action: ConnectionStateMachine.Action, context: ChannelHandlerContext) {
        switch action {
        case .none:
            break
        case .sendHandshake(let response, _):
            context.writeAndFlush(wrapOutboundOut(response), promise: nil)
            services.startSweeping(self)
        case .write, .queued:
            assertionFailure("carried out by OutboundQueue.carryOut, which holds the frames")
        case .disconnectSlowConsumer(let dropped):
            outbound.countSlowDisconnect(dropped: dropped, transport: "sse", context: context)
            outbound.discardUnwritten(context: context)
            context.close(promise: nil)
        case .markLagging:
            subscriber.lagging.store(true, ordering: .relaxed)
        case .resume(let drain, _):
            // Reads are never held: whatever the client sends is dropped as it comes.
            outbound.drain(drain, context: context) { [self] in generationWritten() }
        case .continueReplay:
            outbound.continueReplay()
        case .shutdown(let drained, _):
            // What is queued goes out, then the stream ends and the client reconnects.
            for events in drained { outbound.write(events, context: context) }
            context.writeAndFlush(wrapOutboundOut(ByteBuffer())).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        case .released(let undelivered):
            outbound.released(undelivered, from: services.outbox.counters.sseConnections, connection: self)
        case .ping:
            outbound.write(Self.ping, context: context)
            context.flush()
        case .tokenExpired:
            logger.info("token expired", metadata: ["peer": "\(context.remoteAddress?.description ?? "?")", "subject": "\(subject ?? "-")"])
            context.close(promise: nil)
        case .pong, .message, .sendClose, .echoClose, .closeConnection, .read, .hold:
            assertionFailure("an event stream reads nothing from its client")
        }
    }

    // MARK: Time

    static let ping = ByteBuffer(string: ": ping\n\n")

    /// The last generation a lagging stream wrote is on the socket.
    private func generationWritten() {
        guard let context else { return }
        outbound.recountWithheld(context: context)
        run(state.generationWritten(), context: context)
    }

    func sweep(now: NIODeadline) {
        guard let context else { return }
        outbound.recountWithheld(context: context)
        // The client never sends: no idle timeout, only pings (which keep proxies from
        // closing a quiet stream) and the token's expiry.
        let ping = TimeAmount.seconds(services.settings.pingIntervalSeconds)
        run(state.sweep(now: now, idleTimeout: nil, pingInterval: ping, pingInBand: true), context: context)
    }
}
