import Atomics
import HeraldConnection
import HeraldCore
import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// What a WebSocket connection and an event stream do alike with what the core sends them,
/// held privately by each: the connection's `ConnectionStateMachine` decides whether frames
/// go out now, wait in the backlog (keep-latest ones filed by topic) or end a slow consumer;
/// this carries out the actions both transports share, and keeps `bytes_out` honest.
/// A value inside its handler rather than an object of its own, so an idle connection costs
/// no allocation more. Its mutating methods never call into the channel: a write or a close
/// can fire a writability change or `channelInactive` back into the handler, which must
/// then find `outbound` free.
struct OutboundQueue {
    let subscriber: Subscriber
    let core: BrokerCore
    let services: LoopServices
    private var flushScheduled = false
    /// Bytes handed to NIO that it still held at the last look (see `recountWithheld`).
    private var withheldBytes = 0

    init(subscriber: Subscriber, core: BrokerCore, services: LoopServices) {
        self.subscriber = subscriber
        self.core = core
        self.services = services
    }

    /// Hands bytes to NIO without flushing: the loop flushes once per batch (`flush`).
    func write(_ bytes: ByteBuffer, context: ChannelHandlerContext) {
        services.outbox.bytesOutSinceBatch += bytes.readableBytes
        context.write(NIOAny(bytes), promise: nil)
    }

    /// A write is about to go out: true when the connection must join the loop's flush
    /// list (`LoopServices.scheduleFlush`), once per batch.
    mutating func flushWanted() -> Bool {
        defer { flushScheduled = true }
        return !flushScheduled
    }

    /// The loop's end-of-batch flush is being done.
    mutating func flushing() {
        flushScheduled = false
    }

    /// The answer to frames the core queued (`ConnectionStateMachine.delivered`): a write or
    /// a place in the backlog is carried out here, where the frames and their stamps are;
    /// any other action is returned for the handler's `run`.
    func carryOut(_ action: ConnectionStateMachine.Action, of delivery: Delivery, context: ChannelHandlerContext) -> ConnectionStateMachine.Action {
        let live: LiveMessages
        switch delivery {
        case .frames(_, _, let stamps), .latest(_, _, let stamps): live = stamps
        case .replayPaused, .slowConsumer, .handshake, .close: return action
        }
        switch action {
        case .write:
            switch delivery {
            case .frames(let bytes, _, _), .latest(let bytes, _, _): write(bytes, context: context)
            case .replayPaused, .slowConsumer, .handshake, .close: break
            }
            services.outbox.observeWritten(live)
            return .none
        case .queued(let dropped, let conflated):
            // Observed as it joins the backlog: the histogram holds no per-frame stamps.
            services.outbox.observeWritten(live)
            services.outbox.droppedSinceBatch += dropped
            services.outbox.conflatedSinceBatch += conflated
            return .none
        default:
            return action
        }
    }

    /// A lagging connection's backlog goes out one generation at a time: `written` runs
    /// once this one is on the socket, to ask the state machine for the next.
    func drain(_ drain: ConnectionStateMachine.Drain, context: ChannelHandlerContext, written: @escaping () -> Void) {
        switch drain {
        case .none:
            break
        case .caughtUp(let replay):
            subscriber.lagging.store(false, ordering: .relaxed)
            if replay { continueReplay() }
        case .generation(let generation):
            guard let last = generation.last else { return }
            for bytes in generation.dropLast() { write(bytes, context: context) }
            services.outbox.bytesOutSinceBatch += last.readableBytes
            let promise = context.eventLoop.makePromise(of: Void.self)
            context.writeAndFlush(NIOAny(last), promise: promise)
            services.outbox.publishCounters()
            promise.futureResult.assumeIsolated().whenSuccess(written)
        }
    }

    /// Asks the core for the next chunk of a paused replay, now that the connection drained.
    func continueReplay() {
        let core = self.core
        let subscriber = self.subscriber
        guard !core.isStopping.load(ordering: .relaxed) else { return }
        core.loop.execute { core.continueReplay(subscriber) }
    }

    /// Counts and logs a slow consumer's disconnection; `resetDiscardingUnwritten` ends it.
    func countSlowDisconnect(dropped: Int, transport: String, context: ChannelHandlerContext) {
        services.outbox.droppedSinceBatch += dropped
        services.outbox.counters.slowDisconnects.wrappingIncrement(ordering: .relaxed)
        services.logger.info(
            "slow consumer disconnected",
            metadata: [
                "peer": "\(context.remoteAddress?.description ?? "?")", "transport": "\(transport)", "dropped": "\(dropped)",
            ])
    }

    /// A jammed client would take minutes to drain what the kernel still holds for it: the
    /// close that follows resets the connection, so that memory is released now. What NIO
    /// still held never reached the client, so it stays out of `bytes_out`.
    mutating func discardUnwritten(context: ChannelHandlerContext) {
        _ = (context.channel as? any SocketOptionProvider)?.setSoLinger(linger(l_onoff: 1, l_linger: 0))
        recountWithheld(context: context)
    }

    /// The connection is gone: `undelivered` queued messages count as dropped, it leaves
    /// its loop's sweep and `open` (its transport's count), and the core forgets it.
    func released(_ undelivered: Int, from open: ManagedAtomic<Int>, connection: any LoopConnection) {
        services.outbox.droppedSinceBatch += undelivered
        services.stopSweeping(connection)
        subscriber.connection = nil
        open.wrappingDecrement(ordering: .relaxed)
        let subscriber = self.subscriber
        let core = self.core
        guard !core.isStopping.load(ordering: .relaxed) else { return }
        core.loop.execute { core.detach(subscriber) }
    }

    /// `bytes_out` counts bytes written to the socket (PROTOCOL.md §5), but a write only hands
    /// them to NIO, which keeps what the kernel does not take. Reading NIO's buffered count
    /// on every flush would cost the fan-out path a dynamic option lookup per connection,
    /// so it is read at the moments it changes much (writability, a lagging generation
    /// written, a reset) and on every sweep: what NIO holds is left out of the count until a
    /// later look finds it gone, and what it holds when the connection ends stays out.
    mutating func recountWithheld(context: ChannelHandlerContext) {
        guard let buffered = try? context.channel.syncOptions?.getOption(.bufferedWritableBytes) else { return }
        guard buffered != withheldBytes else { return }
        services.outbox.bytesOutSinceBatch += withheldBytes - buffered
        withheldBytes = buffered
        services.outbox.publishCounters()
    }
}

extension ConnectionStateMachine {
    /// What the core sends, but for the handshake and the close, which each transport
    /// writes its own way; `OutboundQueue.carryOut` and the handler's `run` act on the answer.
    mutating func delivered(_ delivery: Delivery) -> Action {
        switch delivery {
        case .frames(let bytes, let messages, let live):
            return framesQueued(bytes, messages: messages, exempt: live.includesKeepLatest)
        case .latest(let frame, let topic, _):
            return latestQueued(frame, topic: topic)
        case .replayPaused:
            return replayPaused()
        case .slowConsumer:
            return overBudget()
        case .handshake, .close:
            assertionFailure("the transport writes its own handshake and close")
            return .none
        }
    }
}
