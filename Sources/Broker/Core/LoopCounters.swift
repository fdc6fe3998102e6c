import Atomics

/// Counters a loop keeps for STATS. Atomic so the core can read them without a hop; each is
/// written by one loop only and once per batch, so they cost nothing on the per-message path.
package final class LoopCounters: Sendable {
    /// Open WebSocket connections; SSE streams count apart, for the `transport` label.
    package let connections = ManagedAtomic<Int>(0)
    package let sseConnections = ManagedAtomic<Int>(0)
    package let conflated = ManagedAtomic<Int>(0)
    package let dropped = ManagedAtomic<Int>(0)
    package let slowDisconnects = ManagedAtomic<Int>(0)
    package let bytesOut = ManagedAtomic<Int>(0)
    /// Requests refused for a missing or invalid token: 401s and refused `auth` ops.
    package let authFailures = ManagedAtomic<Int>(0)

    package init() {}
}
