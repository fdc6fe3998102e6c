import HeraldClient
import HeraldCommandLine
import HeraldSettings
import HeraldWire
import NIOCore
import NIOPosix
import NIOSSL

#if canImport(Glibc)
    import Glibc
    private let ownUsage = Int32(RUSAGE_SELF.rawValue)
#elseif canImport(Musl)
    import Musl
    private let ownUsage = RUSAGE_SELF
#endif

/// `herald bench`: end-to-end load against a running broker, for capacity planning on the
/// machine it will run on (like `nats bench`).
package struct BenchCommand: Command {
    package init() {}
    package static let declaration = CommandDeclaration<Self>(
        name: "bench",
        abstract: "Measure a running broker: fan-out throughput, latency, bytes and memory.",
        options: [
            .option("url", \.url, placeholder: "URL", help: "The broker's WebSocket address."),
            .option("socket", \.socket, placeholder: "PATH", help: "The broker's Unix socket. Default ./herald.sock, or $HERALD_SOCKET."),
            .option("subscribers", \.subscribers, help: "Subscriber connections, all on one topic in raw mode."),
            .option("messages", \.messages, placeholder: "M", help: "Messages to publish."),
            .option("size", \.size, placeholder: "BYTES", help: "Payload bytes per message (at least 17: a timestamp leads it)."),
            .option("rate", \.rate, placeholder: "PER_SECOND", help: "Messages per second; 0 publishes as fast as the window allows."),
            .option("window", \.window, help: "Messages in flight at once (see --window-counts)."),
            .option(
                "window-counts", \.windowCounts,
                help:
                    "What the window counts: deliveries (messages not yet received by every subscriber, as a feed publishes) or publishes (commands awaiting their +OK)."
            ),
            .flag("compression", \.compression, help: "Offer permessage-deflate on every subscriber connection."),
            .option("topic", \.topic, placeholder: "TOPIC", help: "The topic to publish to."),
            .option("idle", \.idle, help: "Only open this many idle connections and report memory per connection."),
            .option("timeout", \.timeout, placeholder: "SECONDS", help: "Give up after this many seconds."),
            .option("token", \.token, placeholder: "JWT", help: "A token (JWT) for a broker with access control, sent as ?token= by every subscriber."),
            .flag("json", \.json, help: "Print one JSON object instead of a table."),
        ]
    )

    var url = "ws://127.0.0.1:8080"
    var socket: String?
    var subscribers = 1000
    var messages = 10_000
    var size = 128
    var rate = 0
    var window = 32
    var windowCounts = BenchPublisher.WindowCount.deliveries
    var compression = false
    var topic = "bench.ticks"
    var idle: Int?
    var timeout = 120.0
    var token: String?
    var json = false

    package func run() async throws {
        let target = try WebSocketURL(url)
        let (host, port) = (target.host, target.port)
        // `HERALD_SOCKET` overrides the default, as for every subcommand (PROTOCOL.md §1).
        let socketPath = socket ?? Settings(environment: ProcessEnvironment.variables).socketPath
        guard let brokerPID = try? UnixSocket.peerPID(socketPath) else { throw BenchFailure("cannot reach the broker at \(socketPath)") }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            // wss:// measures the broker's TLS, not certificates: the load tool trusts any.
            var tls: NIOSSLContext?
            if target.secure {
                var configuration = TLSConfiguration.makeClientConfiguration()
                configuration.certificateVerification = .none
                tls = try NIOSSLContext(configuration: configuration)
            }
            try await measure(loop: group.next(), host: host, port: port, tls: tls, socketPath: socketPath, brokerPID: brokerPID)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        try? await group.shutdownGracefully()
    }

    private func measure(loop: any EventLoop, host: String, port: Int, tls: NIOSSLContext?, socketPath: String, brokerPID: Int32) async throws {
        let connections = idle ?? subscribers
        let state = BenchState(
            path: "/topics/\(topic)" + (token.map { "?token=\($0)" } ?? ""), offerCompression: compression, subscribers: connections,
            messages: idle == nil ? messages : 0, loop: loop)
        let rssBefore = ProcessMemory.residentKiB(pid: brokerPID)
        let clientRSSBefore = ProcessMemory.residentKiB(pid: getpid())
        var handlers: [NIOLoopBound<BenchSubscriber>] = []
        var channels: [any Channel] = []
        let connectStarted = NIODeadline.now()
        // Connect in batches so that the listen backlog never overflows.
        for batchStart in stride(from: 0, to: connections, by: 250) {
            for index in batchStart..<min(batchStart + 250, connections) {
                // A few connections look inside payloads for latency; inflating on many of
                // them would make the load tool, not the broker, the bottleneck.
                let sampled = index < 4
                let channel = try await ClientBootstrap(group: loop)
                    .channelOption(.socketOption(.tcp_nodelay), value: 1)
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            if let tls { try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: nil)) }
                            let handler = BenchSubscriber(state: state, index: index, samplesLatency: sampled)
                            try channel.pipeline.syncOperations.addHandler(handler)
                        }
                    }
                    .connect(host: host, port: port).get()
                channels.append(channel)
                if sampled {
                    let handler = try await channel.pipeline.handler(type: BenchSubscriber.self).map { NIOLoopBound($0, eventLoop: loop) }.get()
                    handlers.append(handler)
                }
            }
            try await waitUntil(loop: loop, timeout: timeout) { state.connected >= min(batchStart + 250, connections) || !state.errors.isEmpty }
            if !state.errors.isEmpty { throw BenchFailure(state.errors.joined(separator: "; ")) }
        }
        let connectSeconds = Double((NIODeadline.now() - connectStarted).nanoseconds) / 1e9
        try await Task.sleep(nanoseconds: 300_000_000)
        let rssConnected = ProcessMemory.residentKiB(pid: brokerPID)

        if idle != nil {
            let perConnection = Double(rssConnected - rssBefore) / Double(connections)
            report([
                ("connections", "\(connections)"), ("compression offered", "\(compression)"),
                ("broker RSS before (KiB)", "\(rssBefore)"), ("broker RSS with connections (KiB)", "\(rssConnected)"),
                ("broker RSS per connection (KiB)", String(format2(perConnection))),
                ("handshakes per second", "\(Int(Double(connections) / connectSeconds))"),
            ])
            for channel in channels { channel.close(promise: nil) }
            return
        }

        let finished = loop.makePromise(of: Int.self)
        let started = NIODeadline.now()
        let clientCPUBefore = ProcessMemory.cpuSeconds()
        let brokerCPUBefore = ProcessMemory.cpuSeconds(pid: brokerPID)
        let publisher = try await ClientBootstrap(group: loop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        BenchPublisher(
                            plan: .init(topic: topic, size: size, total: messages, window: window, windowCounts: windowCounts, rate: rate),
                            state: state, finished: finished))
                }
            }
            .connect(unixDomainSocketPath: socketPath).get()
        let deliveries = try await finished.futureResult.get()
        _ = try? await waitUntil(loop: loop, timeout: timeout) { state.done == connections || !state.errors.isEmpty }
        let elapsed = Double((NIODeadline.now() - started).nanoseconds) / 1e9
        let clientCPU = ProcessMemory.cpuSeconds() - clientCPUBefore
        let brokerCPU = ProcessMemory.cpuSeconds(pid: brokerPID) - brokerCPUBefore
        let rssAfter = ProcessMemory.residentKiB(pid: brokerPID)
        let received = try await loop.submit { state.totalReceived }.get()
        let bytesIn = try await loop.submit { state.bytesIn }.get()
        var latencies: [UInt64] = []
        for handler in handlers { latencies += try await loop.submit { handler.value.latencies }.get() }
        latencies.sort()
        func percentile(_ p: Double) -> String {
            guard !latencies.isEmpty else { return "-" }
            return format2(Double(latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]) / 1e6)
        }
        let expected = connections * messages
        report([
            ("subscribers", "\(connections)"), ("messages", "\(messages)"), ("payload bytes", "\(size)"),
            ("compression offered", "\(compression)"), ("rate", rate == 0 ? "max, window \(window) \(windowCounts)" : "\(rate)/s"),
            ("seconds", format2(elapsed)), ("deliveries per second", "\(Int(Double(received) / elapsed))"),
            ("delivered", "\(received)"), ("lost", "\(expected - received)"), ("broker deliveries reported", "\(deliveries)"),
            ("latency p50 ms", percentile(0.5)), ("latency p99 ms", percentile(0.99)),
            ("latency max ms", latencies.last.map { format2(Double($0) / 1e6) } ?? "-"),
            ("wire bytes received", "\(bytesIn)"), ("wire bytes per delivery", received > 0 ? format2(Double(bytesIn) / Double(received)) : "-"),
            ("broker RSS before (KiB)", "\(rssBefore)"), ("broker RSS after (KiB)", "\(rssAfter)"),
            ("broker CPU seconds", format2(brokerCPU)),
            ("broker CPU ns per delivery", received > 0 ? "\(Int(brokerCPU * 1e9 / Double(received)))" : "-"),
            ("load tool CPU share", format2(clientCPU / elapsed)),
            ("load tool RSS growth (KiB)", "\(ProcessMemory.residentKiB(pid: getpid()) - clientRSSBefore)"),
            ("errors", state.errors.isEmpty ? "none" : state.errors.joined(separator: "; ")),
        ])
        try? await publisher.close()
        for channel in channels { channel.close(promise: nil) }
        // Lost messages: a status of their own, so that a script can tell a lossy run from one that could not run.
        if expected != received { exit(2) }
    }

    private func report(_ rows: [(String, String)]) {
        if json {
            let fields = rows.map { key, value in
                let name = String(key.lowercased().map { $0 == " " ? "_" : $0 }.filter { $0.isLetter || $0.isNumber || $0 == "_" })
                let isNumber = Double(value) != nil
                return "\"\(name)\":" + (isNumber ? value : "\"\(value)\"")
            }
            printFlushed("{" + fields.joined(separator: ",") + "}")
        } else {
            let width = rows.map(\.0.count).max() ?? 0
            for (key, value) in rows { printFlushed(key + String(repeating: " ", count: width - key.count) + "  " + value) }
        }
    }

    private func waitUntil(loop: any EventLoop, timeout: Double, _ condition: @escaping @Sendable () -> Bool) async throws {
        let deadline = NIODeadline.now() + .nanoseconds(Int64(timeout * 1e9))
        while NIODeadline.now() < deadline {
            if try await loop.submit(condition).get() { return }
            try await Task.sleep(nanoseconds: 5_000_000)
        }
    }
}

func format2(_ value: Double) -> String {
    let scaled = (value * 100).rounded() / 100
    return String(scaled)
}

/// Memory and CPU figures read from /proc.
enum ProcessMemory {
    static func residentKiB(pid: Int32) -> Int {
        guard let file = fopen("/proc/\(pid)/status", "r") else { return 0 }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, 256, file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if text.hasPrefix("VmRSS:") { return Int(text.split(separator: " ")[1]) ?? 0 }
        }
        return 0
    }

    /// User plus system time of another process, from /proc/PID/stat (clock ticks).
    static func cpuSeconds(pid: Int32) -> Double {
        guard let file = fopen("/proc/\(pid)/stat", "r") else { return 0 }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 1024)
        guard fgets(&line, 1024, file) != nil else { return 0 }
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
        guard let close = text.lastIndex(of: ")") else { return 0 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(ownUsage, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }
}
