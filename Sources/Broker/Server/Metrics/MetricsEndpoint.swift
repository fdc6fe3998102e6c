import HeraldCore
import NIOCore

/// `GET /metrics` (PROTOCOL.md §10): the STATS figures as Prometheus metrics, read in the same
/// pass on the core loop so that the two agree, the delivery-time histogram merged from the
/// loops' plain counters (a delivery costs no lock or atomic: `DeliveryHistogram`), and the
/// process's own figures from /proc. Every family has its help line, in a fixed order.
/// Touched on the core loop only.
final class MetricsEndpoint: @unchecked Sendable {
    private let core: BrokerCore

    init(core: BrokerCore) {
        self.core = core
    }

    /// On the core loop; the future completes there too.
    func render() -> EventLoopFuture<String> {
        core.loop.assertInEventLoop()
        let stats = core.stats()
        let loops = core.outboxes.map { outbox in
            outbox.loop.submit { (outbox.deliveryTimes, outbox.handshakeStatuses) }
        }
        return EventLoopFuture.whenAllSucceed(loops, on: core.loop).map { perLoop in
            var histogram = DeliveryHistogram()
            var statuses: [Int: Int] = [:]
            for (times, counts) in perLoop {
                histogram.merge(times)
                statuses.merge(counts, uniquingKeysWith: +)
            }
            var text = PrometheusText()
            Self.write(stats, statuses: statuses, into: &text)
            Self.write(histogram, into: &text)
            Self.write(ProcessFigures.read(), into: &text)
            return text.text
        }
    }

    static func write(_ stats: BrokerStats, statuses: [Int: Int], into text: inout PrometheusText) {
        text.family("herald_connections", .gauge, "Open subscriber connections, by transport.")
        text.sample("herald_connections", labels: ["transport": "websocket"], stats.webSocketConnections)
        text.sample("herald_connections", labels: ["transport": "sse"], stats.sseConnections)
        text.single("herald_publishers", .gauge, "Open Unix-socket publisher connections (line protocol and HTTP).", stats.publishers)
        text.single("herald_subscriptions", .gauge, "Patterns held by all connections.", stats.subscriptions)
        text.single("herald_topics", .gauge, "Topics holding history or a retained message.", stats.topics)
        text.single("herald_history_bytes", .gauge, "Payload bytes held in history.", stats.historyBytes)
        text.single("herald_retained_bytes", .gauge, "Payload bytes held in retained messages.", stats.retainedBytes)
        text.single("herald_seq", .gauge, "The latest sequence number.", Int(stats.seq))
        text.single(
            "herald_backplane_connected", .gauge, "1 while the Redis backplane is reachable (always 1 without one).",
            stats.backplaneConnected ? 1 : 0)
        text.single("herald_published_total", .counter, "Publishes accepted.", stats.published)
        text.single("herald_delivered_total", .counter, "Messages queued to subscriber connections.", stats.delivered)
        text.single("herald_dropped_total", .counter, "Messages discarded for slow consumers.", stats.dropped)
        text.single("herald_conflated_total", .counter, "Pending keep-latest messages replaced by newer ones.", stats.conflated)
        text.single("herald_slow_disconnects_total", .counter, "Connections closed as slow consumers.", stats.slowDisconnects)
        text.single("herald_bytes_out_total", .counter, "Bytes written to subscriber sockets, frame headers included.", stats.bytesOut)
        text.single("herald_auth_failures_total", .counter, "Requests refused for a missing or invalid token.", stats.authFailures)
        text.family("herald_handshakes_total", .counter, "WebSocket and SSE requests, by the HTTP status answered.")
        // The upgrade's status is there from the start, so a dashboard finds the series.
        for (status, count) in statuses.merging([101: 0], uniquingKeysWith: +).sorted(by: { $0.key < $1.key }) {
            text.sample("herald_handshakes_total", labels: ["status": String(status)], count)
        }
    }

    static func write(_ histogram: DeliveryHistogram, into text: inout PrometheusText) {
        let name = "herald_delivery_seconds"
        text.family(name, .histogram, "Time from a publish's acceptance to the write of its frame to each subscriber.")
        var cumulative = 0
        for (bucket, bound) in DeliveryHistogram.bounds.enumerated() {
            cumulative += histogram.counts[bucket]
            text.sample(name + "_bucket", labels: ["le": "\(bound)"], cumulative)
        }
        cumulative += histogram.counts[DeliveryHistogram.bounds.count]
        text.sample(name + "_bucket", labels: ["le": "+Inf"], cumulative)
        text.sample(name + "_sum", Double(histogram.sumNanoseconds) / 1e9)
        text.sample(name + "_count", cumulative)
    }

    static func write(_ process: ProcessFigures, into text: inout PrometheusText) {
        text.single("process_resident_memory_bytes", .gauge, "Resident memory size in bytes.", process.residentBytes)
        text.single("process_open_fds", .gauge, "Open file descriptors.", process.openFiles)
        text.family("process_cpu_seconds_total", .counter, "User and system CPU time spent, in seconds.")
        text.sample("process_cpu_seconds_total", process.cpuSeconds)
    }
}
