import HeraldCore
import NIOCore
import Prometheus

/// `GET /metrics` (CONTRACT §10): the STATS figures as Prometheus metrics, read in the same
/// pass on the core loop so that the two agree, the delivery-time histogram merged from the
/// loops' plain counters, and the process's own figures from /proc.
///
/// Counters and gauges live in a swift-prometheus registry, brought up to date at each
/// scrape. The histogram is written here: the library's histogram takes a lock for each
/// observation, and a delivery must cost no lock or atomic (`DeliveryHistogram`).
/// Touched on the core loop only.
final class MetricsEndpoint: @unchecked Sendable {
    private let core: BrokerCore
    private let registry = PrometheusCollectorRegistry()
    private var reported: [ObjectIdentifier: Int] = [:]
    private var handshakeCounters: [Int: Counter] = [:]
    private var reportedCPUSeconds = 0.0

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
        return EventLoopFuture.whenAllSucceed(loops, on: core.loop).map { [self] perLoop in
            var histogram = DeliveryHistogram()
            var statuses: [Int: Int] = [:]
            for (times, counts) in perLoop {
                histogram.merge(times)
                statuses.merge(counts, uniquingKeysWith: +)
            }
            update(stats: stats, statuses: statuses)
            var text = registry.emitToString()
            Self.write(histogram, into: &text)
            return text
        }
    }

    private func update(stats: BrokerStats, statuses: [Int: Int]) {
        gauge("herald_connections", [("transport", "websocket")], stats.webSocketConnections)
        gauge("herald_connections", [("transport", "sse")], stats.sseConnections)
        gauge("herald_publishers", [], stats.publishers)
        gauge("herald_subscriptions", [], stats.subscriptions)
        gauge("herald_topics", [], stats.topics)
        gauge("herald_history_bytes", [], stats.historyBytes)
        gauge("herald_retained_bytes", [], stats.retainedBytes)
        gauge("herald_seq", [], Int(stats.seq))
        gauge("herald_backplane_connected", [], stats.backplaneConnected ? 1 : 0)
        counter("herald_published_total", stats.published)
        counter("herald_delivered_total", stats.delivered)
        counter("herald_dropped_total", stats.dropped)
        counter("herald_conflated_total", stats.conflated)
        counter("herald_slow_disconnects_total", stats.slowDisconnects)
        counter("herald_bytes_out_total", stats.bytesOut)
        counter("herald_auth_failures_total", stats.authFailures)
        // The upgrade's status is there from the start, so a dashboard finds the series.
        for (status, count) in statuses.merging([101: 0], uniquingKeysWith: +) {
            let counter = handshakeCounters[status] ?? {
                let made = registry.makeCounter(name: "herald_handshakes_total", labels: [("status", String(status))])
                handshakeCounters[status] = made
                return made
            }()
            advance(counter, to: count)
        }
        let process = ProcessFigures.read()
        gauge("process_resident_memory_bytes", [], process.residentBytes)
        gauge("process_open_fds", [], process.openFiles)
        let cpu = registry.makeCounter(name: "process_cpu_seconds_total")
        if process.cpuSeconds > reportedCPUSeconds {
            cpu.increment(by: process.cpuSeconds - reportedCPUSeconds)
            reportedCPUSeconds = process.cpuSeconds
        }
    }

    private func gauge(_ name: String, _ labels: [(String, String)], _ value: Int) {
        // The registry hands back the same gauge for the same name and labels.
        registry.makeGauge(name: name, labels: labels).set(to: Double(value))
    }

    private func counter(_ name: String, _ value: Int) {
        advance(registry.makeCounter(name: name), to: value)
    }

    /// Counters only go up: each scrape adds what the broker counted since the last one.
    private func advance(_ counter: Counter, to value: Int) {
        let key = ObjectIdentifier(counter)
        let delta = value - (reported[key] ?? 0)
        guard delta > 0 else { return }
        counter.increment(by: Int64(delta))
        reported[key] = value
    }

    static func write(_ histogram: DeliveryHistogram, into text: inout String) {
        let name = "herald_delivery_seconds"
        text += "# HELP \(name) Time from a publish's acceptance to the write of its frame to each subscriber.\n"
        text += "# TYPE \(name) histogram\n"
        var cumulative = 0
        for (bucket, bound) in DeliveryHistogram.bounds.enumerated() {
            cumulative += histogram.counts[bucket]
            text += "\(name)_bucket{le=\"\(bound)\"} \(cumulative)\n"
        }
        cumulative += histogram.counts[DeliveryHistogram.bounds.count]
        text += "\(name)_bucket{le=\"+Inf\"} \(cumulative)\n"
        text += "\(name)_sum \(Double(histogram.sumNanoseconds) / 1e9)\n"
        text += "\(name)_count \(cumulative)\n"
    }
}
