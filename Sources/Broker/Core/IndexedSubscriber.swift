/// A subscriber as the subscription index holds it: without a reference count, so that
/// walking a thousand matches costs no atomic operation each. An atomic waits for the
/// stores just made to the subscriber before it, and those miss the cache: the walk would
/// stall once per subscriber (BENCHMARKS.md, issue 14). Safe because every subscriber in
/// the index is also in `BrokerCore.attached`, which `detach` leaves only after taking
/// it out of the index.
package struct IndexedSubscriber: Hashable {
    private let reference: Unmanaged<Subscriber>

    init(_ subscriber: Subscriber) {
        self.reference = .passUnretained(subscriber)
    }

    /// Runs `body` with the subscriber borrowed: no retain, no release.
    func withSubscriber<Result>(_ body: (Subscriber) throws -> Result) rethrows -> Result {
        try reference._withUnsafeGuaranteedRef(body)
    }

    package static func == (lhs: IndexedSubscriber, rhs: IndexedSubscriber) -> Bool { lhs.reference.toOpaque() == rhs.reference.toOpaque() }
    package func hash(into hasher: inout Hasher) { hasher.combine(reference.toOpaque()) }
}
