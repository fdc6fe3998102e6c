import Atomics
import NIOCore
import Topics

/// The mailbox between the core loop and one event loop.
///
/// While the core works through a batch of publishes, each subscriber's small frames are
/// gathered into one buffer (copying a 150-byte tick is cheaper than handing it down a
/// pipeline, and the batch leaves in one write): subscribers that got the same run of
/// publishes share one such buffer, others get a copy of their own. Large frames stay
/// shared, never copied. When the core's turn ends the batch goes to the loop with one
/// `execute`: one thread hop per loop per batch, and one write and one flush per connection.
package final class LoopOutbox: @unchecked Sendable {
    /// Frames up to this size are copied into the subscriber's batch buffer when a batch
    /// holds more than one.
    package static let coalesceLimit = 1024

    package let loop: any EventLoop
    package let counters = LoopCounters()

    // Core loop only. The fields the fan-out touches per delivery skip dynamic exclusivity
    // checks (see `Subscriber.lastQueuedSeq`).
    /// A batch is on its way to the loop: what comes meanwhile accumulates (and small frames
    /// coalesce further) until the loop is done with it, so the loop's task queue never
    /// holds more than one batch, however fast the core publishes.
    @exclusivity(unchecked) private var inFlight = false
    /// Frame bytes queued since the last batch left; the core stops reading publishers
    /// while an outbox holds too much (`BrokerCore.isBackedUp`).
    @exclusivity(unchecked) package private(set) var queuedBytes = 0
    /// Runs on the core loop when the loop has taken a batch.
    package var batchTaken: () -> Void = {}
    /// What one subscriber may have waiting here before the core stops reading publishers:
    /// without it, frames gathered while a batch is in flight would reach a connection in
    /// one piece larger than its `--max-pending-bytes`, and a subscriber that reads
    /// perfectly well would be cut off as slow.
    package var subscriberLimit = Int.max
    /// A subscriber passed `subscriberLimit` since the last batch left.
    @exclusivity(unchecked) package private(set) var overfull = false
    /// Counts batches sent, so a subscriber's waiting bytes reset without a walk.
    @exclusivity(unchecked) private var round: UInt64 = 0
    @exclusivity(unchecked) private var pending: [(Subscriber, Delivery)] = []
    private var pendingCapacity = 64
    /// Subscribers with a batch open this round, unretained: retaining each is an atomic
    /// operation per delivery, and an atomic waits for the stores the fan-out just made to
    /// the (cold) subscriber, so the walk over a thousand subscribers would stall on every
    /// one of them (BENCHMARKS.md, issue 14). `keptUntilSent` holds those that the core
    /// forgets meanwhile.
    @exclusivity(unchecked) private var openBatches: [Unmanaged<Subscriber>] = []
    @exclusivity(unchecked) private var keptUntilSent: [Subscriber] = []
    /// The frames lone messages of this round share, so that a subscriber's batch of one
    /// names its frame by slot instead of holding a reference; the last one's bytes
    /// identify it.
    @exclusivity(unchecked) private var sharedFrames: [ByteBuffer] = []
    @exclusivity(unchecked) private var lastSharedFrame: (start: UnsafeRawPointer?, count: Int) = (nil, 0)
    /// The last run of shared frames made into one buffer (`coalesced`).
    @exclusivity(unchecked) private var lastCoalesced: (run: Range<Int>, buffer: ByteBuffer?) = (0..<0, nil)
    private let allocator = ByteBufferAllocator()

    // This outbox's loop only.
    /// Runs after each batch has been handed to its connections: the server flushes there,
    /// once per connection per batch.
    package var afterBatch: () -> Void = {}
    /// Bytes written and messages dropped since the counters were last published.
    @exclusivity(unchecked) package var bytesOutSinceBatch = 0
    @exclusivity(unchecked) package var droppedSinceBatch = 0
    @exclusivity(unchecked) package var conflatedSinceBatch = 0
    @exclusivity(unchecked) package var deliveryTimes = DeliveryHistogram()
    /// The HTTP status answered to each WebSocket or SSE request on this loop.
    package var handshakeStatuses: [Int: Int] = [:]
    /// When the batch being handed out was written, read once per batch on first use.
    @exclusivity(unchecked) private var batchWrittenAt: UInt64 = 0

    package init(loop: any EventLoop) {
        self.loop = loop
    }

    /// Core loop: queue one frame for `subscriber`; `acceptedAt` (uptime nanoseconds) marks
    /// a fresh publish, 0 a reply or a replayed message. `frame` is `inout` only so that the
    /// fan-out hands over its shared frame without a reference-count operation; it is not
    /// changed.
    package func enqueue(frame: inout ByteBuffer, to subscriber: Subscriber, acceptedAt: UInt64 = 0, keepLatest: Bool = false) {
        queuedBytes += frame.readableBytes
        if subscriber.queuedRound != round {
            subscriber.queuedRound = round
            subscriber.queuedBytes = 0
        }
        subscriber.queuedBytes += frame.readableBytes
        if subscriber.queuedBytes > subscriberLimit { overfull = true }
        guard frame.readableBytes <= Self.coalesceLimit else {
            closeBatch(of: subscriber)
            append(
                subscriber,
                .frames(
                    frame, messages: 1,
                    live: LiveMessages(
                        count: acceptedAt == 0 ? 0 : 1, acceptedAt: acceptedAt,
                        includesKeepLatest: keepLatest)))
            return
        }
        if keepLatest { subscriber.batchHasKeepLatest = true }
        if acceptedAt != 0 {
            if subscriber.batchLive == 0 { subscriber.batchAcceptedAt = acceptedAt }
            subscriber.batchLive += 1
        }
        if subscriber.batchMessages == 0 {
            subscriber.sharedFrameSlot = sharedSlot(of: &frame)
            openBatches.append(Unmanaged.passUnretained(subscriber))
        } else if subscriber.batch != nil {
            subscriber.batch!.writeImmutableBuffer(frame)
        } else if sharedSlot(of: &frame) != subscriber.sharedFrameSlot + subscriber.batchMessages {
            // The run of shared frames broke (a reply, another topic's message): from here
            // the subscriber's batch is a copy of its own.
            var batch = allocator.buffer(capacity: max(2 * frame.readableBytes + 64, subscriber.lastBatchBytes))
            for slot in subscriber.sharedFrameSlot..<subscriber.sharedFrameSlot + subscriber.batchMessages {
                batch.writeImmutableBuffer(sharedFrames[slot])
            }
            batch.writeImmutableBuffer(frame)
            subscriber.batch = batch
        }
        subscriber.batchMessages += 1
    }

    /// The frames of `sharedFrames[run]` as one buffer. Subscribers of the same topics get
    /// the same run, so the last one made is kept for the next: a round of publishes is
    /// copied once per run, not once per subscriber.
    private func coalesced(_ run: Range<Int>) -> ByteBuffer {
        if lastCoalesced.run == run, let buffer = lastCoalesced.buffer { return buffer }
        var buffer = allocator.buffer(capacity: run.reduce(0) { $0 + sharedFrames[$1].readableBytes })
        for slot in run { buffer.writeImmutableBuffer(sharedFrames[slot]) }
        lastCoalesced = (run, buffer)
        return buffer
    }

    /// Core loop: queue a message of a `--keep-latest` topic, uncoalesced, after the frames
    /// queued before it; `acceptedAt` as for `enqueue(frame:)`.
    package func enqueue(latest frame: ByteBuffer, topic: TopicName, to subscriber: Subscriber, acceptedAt: UInt64) {
        queuedBytes += frame.readableBytes
        closeBatch(of: subscriber)
        append(subscriber, .latest(frame, topic: topic, live: LiveMessages(count: acceptedAt == 0 ? 0 : 1, acceptedAt: acceptedAt)))
    }

    /// Core loop: queue a handshake or a close, after the frames queued before it.
    package func enqueue(_ delivery: Delivery, to subscriber: Subscriber) {
        closeBatch(of: subscriber)
        append(subscriber, delivery)
    }

    /// `frame`'s slot in `sharedFrames`: the last one when it is the same frame (a publish
    /// hands one frame to every subscriber of a wire form in a row), otherwise a new one.
    private func sharedSlot(of frame: inout ByteBuffer) -> Int {
        let start = frame.withUnsafeReadableBytes { $0.baseAddress }
        if start == lastSharedFrame.start && frame.readableBytes == lastSharedFrame.count && !sharedFrames.isEmpty {
            return sharedFrames.count - 1
        }
        sharedFrames.append(frame)
        lastSharedFrame = (start, frame.readableBytes)
        return sharedFrames.count - 1
    }

    /// Core loop: the core forgets `subscriber`; it stays alive until `openBatches`, which
    /// may name it if anything was queued to it since the last send, is done with it.
    package func keepUntilSent(_ subscriber: Subscriber) {
        if subscriber.queuedRound == round { keptUntilSent.append(subscriber) }
    }

    private func append(_ subscriber: Subscriber, _ delivery: Delivery) {
        if pending.isEmpty { pending.reserveCapacity(pendingCapacity) }
        pending.append((subscriber, delivery))
    }

    private func closeBatch(of subscriber: Subscriber) {
        guard subscriber.batchMessages > 0 else { return }
        let batch: ByteBuffer
        if let own = subscriber.batch.take() {
            batch = own
        } else if subscriber.batchMessages == 1 {
            batch = sharedFrames[subscriber.sharedFrameSlot]
        } else {
            let run = subscriber.sharedFrameSlot..<subscriber.sharedFrameSlot + subscriber.batchMessages
            batch = coalesced(run)
        }
        subscriber.lastBatchBytes = batch.readableBytes
        append(
            subscriber,
            .frames(
                batch, messages: subscriber.batchMessages,
                live: LiveMessages(
                    count: Int(subscriber.batchLive), acceptedAt: subscriber.batchAcceptedAt,
                    includesKeepLatest: subscriber.batchHasKeepLatest)))
        subscriber.batchMessages = 0
        subscriber.batchLive = 0
        subscriber.batchHasKeepLatest = false
    }

    /// Core loop: hand everything queued to the loop, unless a batch is still on its way.
    package func send(from coreLoop: any EventLoop) {
        guard !inFlight else { return }
        for subscriber in openBatches { closeBatch(of: subscriber.takeUnretainedValue()) }
        openBatches.removeAll(keepingCapacity: true)
        sharedFrames.removeAll(keepingCapacity: true)
        lastSharedFrame = (nil, 0)
        lastCoalesced = (0..<0, nil)
        keptUntilSent.removeAll()
        guard !pending.isEmpty else { return }
        queuedBytes = 0
        overfull = false
        round &+= 1
        if loop === coreLoop {
            // Same thread: deliver in place and keep the array's storage for the next batch.
            deliver(pending)
            pending.removeAll(keepingCapacity: true)
            batchTaken()
            return
        }
        let batch = pending
        // Start the next batch at the size of this one so that steady traffic does not regrow.
        pendingCapacity = max(64, batch.count)
        pending = []
        inFlight = true
        loop.execute {
            self.deliver(batch)
            coreLoop.execute {
                self.inFlight = false
                self.batchTaken()
            }
        }
    }

    /// This loop: hand a batch to its connections, then let the server flush them.
    private func deliver(_ batch: [(Subscriber, Delivery)]) {
        batchWrittenAt = 0
        for (subscriber, delivery) in batch {
            subscriber.connection?.deliver(delivery)
        }
        afterBatch()
        publishCounters()
    }

    /// This loop: a connection wrote `live` fresh publishes to its socket.
    package func observeWritten(_ live: LiveMessages) {
        guard live.count > 0 else { return }
        if batchWrittenAt == 0 { batchWrittenAt = NIODeadline.now().uptimeNanoseconds }
        deliveryTimes.observe(max(batchWrittenAt, live.acceptedAt) - live.acceptedAt, times: live.count)
    }

    /// This loop: move what the loop counted locally into the atomics STATS reads.
    package func publishCounters() {
        if bytesOutSinceBatch != 0 {
            counters.bytesOut.wrappingIncrement(by: bytesOutSinceBatch, ordering: .relaxed)
            bytesOutSinceBatch = 0
        }
        if conflatedSinceBatch != 0 {
            counters.conflated.wrappingIncrement(by: conflatedSinceBatch, ordering: .relaxed)
            conflatedSinceBatch = 0
        }
        if droppedSinceBatch != 0 {
            counters.dropped.wrappingIncrement(by: droppedSinceBatch, ordering: .relaxed)
            droppedSinceBatch = 0
        }
    }
}
