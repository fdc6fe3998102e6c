import Atomics
import Deflate
import NIOCore

/// What the core loop hands to a connection's loop.
enum Delivery: Sendable {
    /// The 101 response: sent before anything else, and it opens the connection for reading.
    case handshake(ByteBuffer)
    case frame(ByteBuffer)
    /// Send what is queued, then close with this code (shutdown).
    case close(UInt16)
}

/// Counters a loop keeps for STATS. Atomic so the core can read them without a hop; each is
/// written by one loop only and once per batch, so they cost nothing on the per-message path.
final class LoopCounters: Sendable {
    let connections = ManagedAtomic<Int>(0)
    let dropped = ManagedAtomic<Int>(0)
    let slowDisconnects = ManagedAtomic<Int>(0)
    let bytesOut = ManagedAtomic<Int>(0)
}

/// The mailbox between the core loop and one event loop.
///
/// The core appends deliveries while it works through a batch of publishes, then hands the
/// whole list to the loop with one `execute`: one thread hop per loop per batch, not per
/// message and not per subscriber. On the loop, each connection is written to without
/// flushing and flushed once at the end, so a batch becomes one `writev` per connection.
final class LoopOutbox: @unchecked Sendable {
    let loop: any EventLoop
    let counters = LoopCounters()

    // Core loop only.
    private var pending: [(Subscriber, Delivery)] = []
    private var pendingCapacity = 64

    // This outbox's loop only.
    /// Shared by every compressed connection on the loop: herald always negotiates
    /// `client_no_context_takeover`, so no connection needs inflate state of its own.
    private(set) lazy var decompressor: MessageDecompressor? = try? MessageDecompressor(windowBits: 15, noContextTakeover: true)
    private var needFlush: [WebSocketConnectionHandler] = []
    var bytesOutSinceBatch = 0
    var droppedSinceBatch = 0

    init(loop: any EventLoop) {
        self.loop = loop
    }

    /// Core loop: queue a delivery; `BrokerCore` sends the batch when its turn ends.
    func enqueue(_ delivery: Delivery, to subscriber: Subscriber) {
        if pending.isEmpty { pending.reserveCapacity(pendingCapacity) }
        pending.append((subscriber, delivery))
    }

    var hasPending: Bool { !pending.isEmpty }

    /// Core loop: hand everything queued to the loop.
    func send(from coreLoop: any EventLoop) {
        guard !pending.isEmpty else { return }
        let batch = pending
        // Start the next batch at the size of this one so that steady traffic does not regrow.
        pendingCapacity = max(64, batch.count)
        pending = []
        if loop === coreLoop {
            deliver(batch)
        } else {
            loop.execute { self.deliver(batch) }
        }
    }

    /// This loop: write a batch and flush every connection it touched once.
    private func deliver(_ batch: [(Subscriber, Delivery)]) {
        for (subscriber, delivery) in batch {
            subscriber.connection?.deliver(delivery)
        }
        for connection in needFlush { connection.flushBatch() }
        needFlush.removeAll(keepingCapacity: true)
        publishCounters()
    }

    /// This loop: `connection` wrote without flushing and wants a flush at the batch's end.
    func scheduleFlush(_ connection: WebSocketConnectionHandler) {
        needFlush.append(connection)
    }

    /// This loop: move what the loop counted locally into the atomics STATS reads.
    func publishCounters() {
        if bytesOutSinceBatch != 0 {
            counters.bytesOut.wrappingIncrement(by: bytesOutSinceBatch, ordering: .relaxed)
            bytesOutSinceBatch = 0
        }
        if droppedSinceBatch != 0 {
            counters.dropped.wrappingIncrement(by: droppedSinceBatch, ordering: .relaxed)
            droppedSinceBatch = 0
        }
    }
}
