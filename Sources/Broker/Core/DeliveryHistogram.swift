/// `herald_delivery_seconds` for one event loop: plain counters, touched only on that loop,
/// so an observation costs an increment and no atomic or lock; a scrape copies each loop's
/// counters on its own loop and adds them up (`merge`).
package struct DeliveryHistogram: Sendable {
    /// Upper bounds in seconds, from a tick delivered in a tenth of a millisecond to one
    /// stuck behind a slow network.
    package static let bounds: [Double] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    private static let boundsNanoseconds: [UInt64] = bounds.map { UInt64($0 * 1e9) }

    /// Observations per bucket, not cumulative; the last one is `+Inf`.
    package private(set) var counts = [Int](repeating: 0, count: bounds.count + 1)
    package private(set) var sumNanoseconds: UInt64 = 0
    package var count: Int { counts.reduce(0, +) }

    package init() {}

    /// The last observation's time and bucket: the connections of one batch mostly share
    /// both, so each of them after the first costs two additions.
    private var lastNanoseconds: UInt64 = .max
    private var lastBucket = 0

    /// `times` deliveries that each took `nanoseconds`.
    package mutating func observe(_ nanoseconds: UInt64, times: Int) {
        if nanoseconds != lastNanoseconds {
            var bucket = 0
            while bucket < Self.boundsNanoseconds.count, nanoseconds > Self.boundsNanoseconds[bucket] { bucket += 1 }
            lastNanoseconds = nanoseconds
            lastBucket = bucket
        }
        counts[lastBucket] += times
        sumNanoseconds &+= nanoseconds &* UInt64(times)
    }

    package mutating func merge(_ other: DeliveryHistogram) {
        for bucket in counts.indices { counts[bucket] += other.counts[bucket] }
        sumNanoseconds &+= other.sumNanoseconds
    }
}
