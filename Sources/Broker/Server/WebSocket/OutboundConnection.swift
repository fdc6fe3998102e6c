import Atomics
import HeraldConnection
import HeraldCore
import NIOCore
import Topics

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What a WebSocket connection and an event stream do alike with what the core sends them:
/// the connection's `ConnectionStateMachine` decides whether frames go out now, wait in the
/// backlog (keep-latest ones filed by topic) or end a slow consumer; these carry out the
/// actions both transports share, from each handler's `run`.
protocol OutboundConnection: LoopConnection {
    var state: ConnectionStateMachine { get set }
    var services: LoopServices { get }
    var subscriber: Subscriber { get }
    var core: BrokerCore { get }
    var flushScheduled: Bool { get set }
    /// Bytes handed to NIO that it still held at the last look (see `recountWithheld`).
    var withheldBytes: Int { get set }
    var context: ChannelHandlerContext? { get }
    /// Carries out what the state machine answered.
    func run(_ action: ConnectionStateMachine.Action, context: ChannelHandlerContext)
}

extension OutboundConnection {
    /// Hands bytes to NIO without flushing: the loop flushes once per batch (`flush`).
    func write(_ bytes: ByteBuffer, context: ChannelHandlerContext) {
        services.outbox.bytesOutSinceBatch += bytes.readableBytes
        context.write(NIOAny(bytes), promise: nil)
    }

    func flush() {
        flushScheduled = false
        context?.flush()
    }

    /// Counts and logs a slow consumer's disconnection; `resetDiscardingUnwritten` ends it.
    func countSlowDisconnect(dropped: Int, transport: String, context: ChannelHandlerContext) {
        services.outbox.droppedSinceBatch += dropped
        services.outbox.counters.slowDisconnects.wrappingIncrement(ordering: .relaxed)
        services.logger.info("slow consumer disconnected", metadata: [
            "peer": "\(context.remoteAddress?.description ?? "?")", "transport": "\(transport)", "dropped": "\(dropped)",
        ])
    }

    /// A jammed client would take minutes to drain what the kernel still holds for it:
    /// reset the connection so that memory is released now. What NIO still held never
    /// reached the client, so it stays out of `bytes_out`.
    func resetDiscardingUnwritten(context: ChannelHandlerContext) {
        _ = (context.channel as? any SocketOptionProvider)?.setSoLinger(linger(l_onoff: 1, l_linger: 0))
        recountWithheld(context: context)
        context.close(promise: nil)
    }

    /// The connection is gone: what it had queued counts as dropped, it leaves its loop's
    /// sweep and `open` (its transport's count), and the core forgets it.
    func released(_ undelivered: Int, from open: ManagedAtomic<Int>) {
        services.outbox.droppedSinceBatch += undelivered
        services.stopSweeping(self)
        subscriber.connection = nil
        open.wrappingDecrement(ordering: .relaxed)
        let subscriber = self.subscriber
        let core = self.core
        guard !core.isStopping.load(ordering: .relaxed) else { return }
        core.loop.execute { core.detach(subscriber) }
    }

    /// Asks the core for the next chunk of a paused replay, now that the connection drained.
    func continueReplay() {
        let core = self.core
        let subscriber = self.subscriber
        guard !core.isStopping.load(ordering: .relaxed) else { return }
        core.loop.execute { core.continueReplay(subscriber) }
    }

    /// What the core sends, but for the handshake and the close, which each transport
    /// writes its own way.
    func deliverQueued(_ delivery: Delivery, context: ChannelHandlerContext) {
        switch delivery {
        case .frames(let bytes, let messages, let live):
            queued(bytes, live: live, state.framesQueued(bytes, messages: messages, exempt: live.includesKeepLatest), context: context)
        case .latest(let frame, let topic, let live):
            queued(frame, live: live, state.latestQueued(frame, topic: topic), context: context)
        case .replayPaused:
            run(state.replayPaused(), context: context)
        case .slowConsumer:
            run(state.overBudget(), context: context)
        case .handshake, .close:
            assertionFailure("the transport writes its own handshake and close")
        }
    }

    /// The answer to frames the core queued: a write or a place in the backlog is carried
    /// out here, where the frames and their stamps are; anything else is the handler's `run`.
    private func queued(_ bytes: ByteBuffer, live: LiveMessages, _ action: ConnectionStateMachine.Action, context: ChannelHandlerContext) {
        switch action {
        case .write:
            write(bytes, context: context)
            services.outbox.observeWritten(live)
            if !flushScheduled {
                flushScheduled = true
                services.scheduleFlush(self)
            }
        case .queued(let dropped, let conflated):
            // Observed as it joins the backlog: the histogram holds no per-frame stamps.
            services.outbox.observeWritten(live)
            services.outbox.droppedSinceBatch += dropped
            services.outbox.conflatedSinceBatch += conflated
        default:
            run(action, context: context)
        }
    }

    /// A lagging connection's backlog goes out one generation at a time: the next when
    /// this one is written (`generationWritten`), until the connection has caught up.
    func drain(_ drain: ConnectionStateMachine.Drain, context: ChannelHandlerContext) {
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
            let written = context.eventLoop.makePromise(of: Void.self)
            context.writeAndFlush(NIOAny(last), promise: written)
            services.outbox.publishCounters()
            written.futureResult.assumeIsolated().whenSuccess { [self] in
                guard let context = self.context else { return }
                recountWithheld(context: context)
                run(state.generationWritten(), context: context)
            }
        }
    }

    /// `bytes_out` counts bytes written to the socket (PROTOCOL.md §5), but a write only hands
    /// them to NIO, which keeps what the kernel does not take. Reading NIO's buffered count
    /// on every flush would cost the fan-out path a dynamic option lookup per connection,
    /// so it is read at the moments it changes much (writability, a lagging generation
    /// written, a reset) and on every sweep: what NIO holds is left out of the count until a
    /// later look finds it gone, and what it holds when the connection ends stays out.
    func recountWithheld(context: ChannelHandlerContext) {
        guard let buffered = try? context.channel.syncOptions?.getOption(.bufferedWritableBytes) else { return }
        guard buffered != withheldBytes else { return }
        services.outbox.bytesOutSinceBatch += withheldBytes - buffered
        withheldBytes = buffered
        services.outbox.publishCounters()
    }
}
