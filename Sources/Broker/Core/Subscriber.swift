import HeraldAuth
import NIOCore
import Synchronization
import Topics

/// The broker's handle on one WebSocket connection.
///
/// It crosses threads, so its fields are split by owner, and `@unchecked Sendable` rests on
/// that split: the `let`s are immutable; the core-loop fields are touched only on the core
/// loop (matching, dedup, subscription count); `connection` only on the connection's own
/// loop. Nothing is locked because nothing is shared.
package final class Subscriber: Hashable, @unchecked Sendable {
    package let wireForm: WireForm
    package let outbox: LoopOutbox

    // Core loop only.
    /// Each held pattern and the seq above which it has delivered everything it matches:
    /// its `since`, or the broker's seq when it was made. A replay skips what another
    /// pattern already delivered.
    package var patterns: [TopicPattern: UInt64] = [:]
    /// Set only while a replay (history or retained messages) is under way.
    @exclusivity(unchecked) package var replay: PendingReplay?
    /// The seq of the last message queued, so that overlapping patterns deliver once.
    /// Fields the fan-out touches per delivery skip the dynamic exclusivity checks: only
    /// the core loop touches them, never re-entrantly, and the checks cost about a tenth of
    /// a delivery (BENCHMARKS.md, issue 14).
    @exclusivity(unchecked) package var lastQueuedSeq: UInt64 = 0
    package var isAttached = false
    /// The connection's token, nil without one; the same box as the connection's own. It
    /// changes only by a JSON-mode `auth` op.
    package var token: BoxedGrants?
    package var grants: Grants? {
        get { token?.grants }
        set { token = newValue.map(BoxedGrants.init) }
    }
    /// Small frames queued in the current batch, copied into one buffer from the second
    /// message on (see LoopOutbox); a batch of one is the outbox's shared frame in
    /// `sharedFrameSlot`. nil between batches, so that an idle subscriber holds no buffer.
    @exclusivity(unchecked) package var batch: ByteBuffer?
    @exclusivity(unchecked) package var sharedFrameSlot = 0
    @exclusivity(unchecked) package var batchMessages = 0
    /// Fresh publishes among them, and when the first was accepted (`LiveMessages`).
    @exclusivity(unchecked) package var batchLive: Int32 = 0
    @exclusivity(unchecked) package var batchAcceptedAt: UInt64 = 0
    @exclusivity(unchecked) package var batchHasKeepLatest = false
    /// The size of the last batch, to size the next one without regrowing.
    @exclusivity(unchecked) package var lastBatchBytes = 0
    /// Bytes waiting in the outbox for this subscriber, counted for `LoopOutbox.round`.
    @exclusivity(unchecked) package var queuedBytes = 0
    @exclusivity(unchecked) package var queuedRound: UInt64 = 0

    // The connection's own loop only.
    package var connection: (any SubscriberConnection)?

    // Written by the connection's loop, read by the core.
    /// The connection fell behind (see `ConnectionStateMachine.lagging`): the core then sends
    /// messages of `--keep-latest` topics one by one, so that they can be replaced, and
    /// coalesces them with the rest while it keeps up. A batch already on its way when this
    /// changes is handled either way.
    package let lagging = Atomic<Bool>(false)

    package init(wireForm: WireForm, outbox: LoopOutbox) {
        self.wireForm = wireForm
        self.outbox = outbox
    }

    package static func == (lhs: Subscriber, rhs: Subscriber) -> Bool { lhs === rhs }
    package func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}
