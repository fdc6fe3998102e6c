import HeraldAuth
import HeraldCore
import HeraldWire
import Logging
import NIOCore

/// One server-sent-event stream after its request passed (PROTOCOL.md §12). The outbound rules
/// are the WebSocket connection's (`ConnectionStateMachine`: backlog, budget, slow-consumer
/// policy, replay pacing), so streams get the same limits; the client never sends, so there
/// is no idle timeout, and a `: ping` comment goes out every `--ping-interval`.
final class EventStreamHandler: ChannelDuplexHandler, SubscriberConnection, OutboundConnection {
    typealias InboundIn = NIOAny
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let subscriber: Subscriber
    let core: BrokerCore
    let services: LoopServices
    private var logger: Logger { services.logger }
    @exclusivity(unchecked) var state: ConnectionStateMachine
    private(set) var context: ChannelHandlerContext?
    var flushScheduled = false
    var withheldBytes = 0
    var sweepIndex = -1
    private let subject: String?

    init(subscriber: Subscriber, core: BrokerCore, services: LoopServices, token: BoxedGrants?) {
        self.subscriber = subscriber
        self.core = core
        self.services = services
        self.subject = token?.grants.subject
        let settings = services.settings
        self.state = ConnectionStateMachine(
            maxMessageBytes: settings.maxMessageBytes, compressed: false, backlogLimit: settings.maxPendingBytes / 2,
            policy: settings.slowConsumer == .drop ? .drop : .disconnect, now: .now()
        )
        state.tokenExpiry = token?.grants.expiresAt.map { .now() + .seconds(max(0, $0 - WallClock.now())) }
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        subscriber.connection = self
        services.outbox.counters.sseConnections.wrappingIncrement(ordering: .relaxed)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        markClosed()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        markClosed()
        context.fireChannelInactive()
    }

    /// The client has nothing to say on an event stream; whatever it sends is dropped.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func markClosed() {
        released(from: services.outbox.counters.sseConnections)
    }

    // MARK: From the core

    func deliver(_ delivery: Delivery) {
        guard let context else { return }
        switch delivery {
        case .handshake(let response):
            _ = state.handshakeSent()
            context.writeAndFlush(wrapOutboundOut(response), promise: nil)
            services.startSweeping(self)
        case .close:
            // Shutdown: what is queued goes out, then the stream ends and the client reconnects.
            for events in state.drainForShutdown() { write(events, context: context) }
            _ = state.closeInitiated()
            context.writeAndFlush(wrapOutboundOut(ByteBuffer())).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        default:
            deliverQueued(delivery, context: context)
        }
    }

    func disconnectSlowConsumer(dropped: Int, context: ChannelHandlerContext) {
        countSlowDisconnect(dropped: dropped, transport: "sse", context: context)
        resetDiscardingUnwritten(context: context)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        writabilityChanged(context: context)
        context.fireChannelWritabilityChanged()
    }

    // MARK: Time

    static let ping = ByteBuffer(string: ": ping\n\n")

    func sweep(now: NIODeadline) {
        guard let context else { return }
        recountWithheld(context: context)
        // The client never sends: no idle timeout, only pings (which keep proxies from
        // closing a quiet stream) and the token's expiry.
        switch state.sweep(now: now, idleTimeout: .hours(24 * 365), pingInterval: .seconds(services.settings.pingIntervalSeconds)) {
        case .none, .idleClose:
            break
        case .ping:
            if state.isWritable && !state.lagging {
                write(Self.ping, context: context)
                context.flush()
            }
        case .tokenExpired:
            logger.info("token expired", metadata: ["peer": "\(context.remoteAddress?.description ?? "?")", "subject": "\(subject ?? "-")"])
            _ = state.closeInitiated()
            context.close(promise: nil)
        }
    }
}
