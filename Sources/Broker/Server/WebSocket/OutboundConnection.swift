import Atomics
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
/// backlog (keep-latest ones filed by topic) or end a slow consumer, and a lagging
/// connection's backlog goes out a generation at a time.
protocol OutboundConnection: LoopConnection {
    var state: ConnectionStateMachine { get set }
    var services: LoopServices { get }
    var subscriber: Subscriber { get }
    var core: BrokerCore { get }
    var flushScheduled: Bool { get set }
    /// Bytes handed to NIO that it still held at the last look (see `recountWithheld`).
    var withheldBytes: Int { get set }
    var context: ChannelHandlerContext? { get }
    func disconnectSlowConsumer(dropped: Int, context: ChannelHandlerContext)
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
    func released(from open: ManagedAtomic<Int>) {
        guard state.phase != .closed else { return }
        services.outbox.droppedSinceBatch += state.closed()
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
            queue(bytes, messages: messages, live: live, latestOf: nil, context: context)
        case .latest(let frame, let topic, let live):
            queue(frame, messages: 1, live: live, latestOf: topic, context: context)
        case .replayPaused:
            if state.replayPaused() { continueReplay() }
        case .slowConsumer:
            if case .disconnectSlowConsumer(let dropped) = state.overBudget() {
                disconnectSlowConsumer(dropped: dropped, context: context)
            }
        case .handshake, .close:
            assertionFailure("the transport writes its own handshake and close")
        }
    }

    /// `.frames` (`topic` nil) and `.latest` deliveries.
    func queue(_ bytes: ByteBuffer, messages: Int, live: LiveMessages, latestOf topic: TopicName?, context: ChannelHandlerContext) {
        let action: ConnectionStateMachine.OutboundAction
        if let topic {
            let (queued, conflated) = state.latestQueued(bytes, topic: topic)
            services.outbox.conflatedSinceBatch += conflated
            action = queued
        } else {
            action = state.framesQueued(bytes, messages: messages, exempt: live.includesKeepLatest)
        }
        switch action {
        case .write:
            write(bytes, context: context)
            services.outbox.observeWritten(live)
            if !flushScheduled {
                flushScheduled = true
                services.scheduleFlush(self)
            }
        case .queued(let dropped):
            // Observed as it joins the backlog: the histogram holds no per-frame stamps.
            services.outbox.observeWritten(live)
            services.outbox.droppedSinceBatch += dropped
        case .disconnectSlowConsumer(let dropped):
            disconnectSlowConsumer(dropped: dropped, context: context)
        case .ignore:
            break
        }
    }

    /// The channel's writability changed: a connection that stops being writable is lagging
    /// (the core then sends keep-latest messages one by one); one that can write again
    /// drains its backlog.
    func writabilityChanged(context: ChannelHandlerContext) {
        state.isWritable = context.channel.isWritable
        recountWithheld(context: context)
        if state.isWritable {
            writeNextGeneration(context: context)
        } else {
            subscriber.lagging.store(true, ordering: .relaxed)
        }
    }

    /// A lagging connection's backlog goes out one generation at a time: the next when
    /// this one is written, or the connection has caught up.
    func writeNextGeneration(context: ChannelHandlerContext) {
        let generation = state.nextGeneration()
        guard let last = generation.last else {
            if !state.lagging { subscriber.lagging.store(false, ordering: .relaxed) }
            if state.drainedForReplay() { continueReplay() }
            return
        }
        for bytes in generation.dropLast() { write(bytes, context: context) }
        services.outbox.bytesOutSinceBatch += last.readableBytes
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(NIOAny(last), promise: written)
        services.outbox.publishCounters()
        written.futureResult.assumeIsolated().whenSuccess { [self] in
            state.generationWritten()
            guard let context = self.context else { return }
            recountWithheld(context: context)
            writeNextGeneration(context: context)
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
