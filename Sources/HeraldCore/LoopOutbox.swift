import Atomics
import Deflate
import NIOCore

/// What the core loop hands to a connection's loop.
enum Delivery: Sendable {
    /// The 101 response: sent before anything else, and it opens the connection for reading.
    case handshake(ByteBuffer)
    /// Whole frames, ready for the wire: `messages` of them, for slow-consumer accounting.
    case frames(ByteBuffer, messages: Int)
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
/// While the core works through a batch of publishes, each subscriber's small frames are
/// copied into one buffer of its own (copying a 150-byte tick is cheaper than handing it
/// down a pipeline, and the batch leaves in one write); large frames stay shared, never
/// copied. When the core's turn ends the batch goes to the loop with one `execute`: one
/// thread hop per loop per batch, and one write and one flush per connection.
package final class LoopOutbox: @unchecked Sendable {
    /// Frames up to this size are copied into the subscriber's batch buffer when a batch
    /// holds more than one.
    static let coalesceLimit = 1024

    let loop: any EventLoop
    let counters = LoopCounters()

    // Core loop only.
    private var pending: [(Subscriber, Delivery)] = []
    private var pendingCapacity = 64
    private var openBatches: [Subscriber] = []
    private let allocator = ByteBufferAllocator()

    // This outbox's loop only.
    /// Shared by every compressed connection on the loop: herald always negotiates
    /// `client_no_context_takeover`, so no connection needs inflate state of its own.
    private(set) lazy var decompressor: MessageDecompressor? = try? MessageDecompressor(windowBits: 15, noContextTakeover: true)
    private var needFlush: [WebSocketConnectionHandler] = []
    /// Open connections, for pings and idle timeouts: one repeated task per loop walks
    /// them, instead of a timer (and its promise) per connection.
    private var swept: [WebSocketConnectionHandler] = []
    private var sweepTask: RepeatedTask?
    private let sweepInterval: TimeAmount
    var bytesOutSinceBatch = 0
    var droppedSinceBatch = 0

    package init(loop: any EventLoop, sweepInterval: TimeAmount) {
        self.loop = loop
        self.sweepInterval = sweepInterval
    }

    /// Core loop: queue one frame for `subscriber`.
    func enqueue(frame: ByteBuffer, to subscriber: Subscriber) {
        guard frame.readableBytes <= Self.coalesceLimit else {
            closeBatch(of: subscriber)
            append(subscriber, .frames(frame, messages: 1))
            return
        }
        switch subscriber.batchMessages {
        case 0:
            // A lone message goes out as the shared frame itself; a copy starts with the second.
            subscriber.batch = frame
            openBatches.append(subscriber)
        case 1:
            var batch = allocator.buffer(capacity: max(2 * frame.readableBytes + 64, subscriber.lastBatchBytes))
            batch.writeImmutableBuffer(subscriber.batch!)
            batch.writeImmutableBuffer(frame)
            subscriber.batch = batch
        default:
            subscriber.batch!.writeImmutableBuffer(frame)
        }
        subscriber.batchMessages += 1
    }

    /// Core loop: queue a handshake or a close, after the frames queued before it.
    func enqueue(_ delivery: Delivery, to subscriber: Subscriber) {
        closeBatch(of: subscriber)
        append(subscriber, delivery)
    }

    private func append(_ subscriber: Subscriber, _ delivery: Delivery) {
        if pending.isEmpty { pending.reserveCapacity(pendingCapacity) }
        pending.append((subscriber, delivery))
    }

    private func closeBatch(of subscriber: Subscriber) {
        guard let batch = subscriber.batch else { return }
        subscriber.batch = nil
        subscriber.lastBatchBytes = batch.readableBytes
        append(subscriber, .frames(batch, messages: subscriber.batchMessages))
        subscriber.batchMessages = 0
    }

    /// Core loop: hand everything queued to the loop.
    func send(from coreLoop: any EventLoop) {
        for subscriber in openBatches { closeBatch(of: subscriber) }
        openBatches.removeAll(keepingCapacity: true)
        guard !pending.isEmpty else { return }
        if loop === coreLoop {
            // Same thread: deliver in place and keep the array's storage for the next batch.
            deliver(pending)
            pending.removeAll(keepingCapacity: true)
            return
        }
        let batch = pending
        // Start the next batch at the size of this one so that steady traffic does not regrow.
        pendingCapacity = max(64, batch.count)
        pending = []
        loop.execute { self.deliver(batch) }
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

    /// This loop: include `connection` in the sweep.
    func startSweeping(_ connection: WebSocketConnectionHandler) {
        guard connection.sweepIndex < 0 else { return }
        connection.sweepIndex = swept.count
        swept.append(connection)
        if sweepTask == nil {
            sweepTask = loop.scheduleRepeatedTask(initialDelay: sweepInterval, delay: sweepInterval) { [self] _ in sweep() }
        }
    }

    /// This loop: drop `connection` from the sweep (swap-remove, O(1)).
    func stopSweeping(_ connection: WebSocketConnectionHandler) {
        let index = connection.sweepIndex
        guard index >= 0 else { return }
        let last = swept.removeLast()
        if last !== connection {
            swept[index] = last
            last.sweepIndex = index
        }
        connection.sweepIndex = -1
    }

    private func sweep() {
        let now = NIODeadline.now()
        // A connection may leave the list while it is swept (idle close): walk a copy.
        for connection in swept { connection.sweep(now: now) }
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
