import Benchmark
import HeraldCore
import HeraldServer
import HeraldWire
import HeraldSettings
import Deflate
import NIOCore
import NIOEmbedded
import NIOWebSocket
import Topics

/// Micro-benchmarks of the per-message work, with allocation counts: end-to-end figures
/// are `herald bench` and `make bench-compare` (BENCHMARKS.md).
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .mallocCountTotal, .instructions], maxDuration: .seconds(2))

    Benchmark("Topic matching, 100k subscriptions") { (benchmark, index: SubscriptionIndex<Int>) in
        let topic = try TopicName("prices.us.AAPL")
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            var matches = 0
            index.forEachMatch(topic) { _ in matches += 1 }
            blackHole(matches)
        }
    } setup: {
        // 100k subscriptions, of which a handful match: cost must follow the matches.
        var index = SubscriptionIndex<Int>()
        for subscriber in 0..<100_000 {
            index.insert(try! TopicPattern("prices.s\(subscriber % 5000).t\(subscriber)"), for: subscriber)
        }
        for subscriber in 0..<10 { index.insert(try! TopicPattern(subscriber % 2 == 0 ? "prices.*.AAPL" : "prices.>"), for: -subscriber - 1) }
        return index
    }

    Benchmark("Fan-out of one message to 1000 subscribers (core side)") { (benchmark, setup: (BrokerCore, EmbeddedEventLoop)) in
        let (core, loop) = setup
        let topic = try TopicName("prices.AAPL")
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            core.submit(topic: topic, payload: priceTick, retain: false) { blackHole($0) }
            loop.run()  // hands the batch to the (connectionless) subscribers
        }
    } setup: {
        coreWithSubscribers(1000) { $0 % 2 == 0 ? 15 : 0 }
    }

    for (name, size) in [("128 B price tick", 128), ("16 KiB JSON document", 16 * 1024)] {
        let message = jsonLike(bytes: size)
        // zlib state is made in setup: a broker makes it once per loop, not per message.
        Benchmark("Deflate \(name)") { (benchmark, compressor: MessageCompressor) in
            var output = ByteBufferAllocator().buffer(capacity: size + 64)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                output.clear()
                blackHole(try compressor.compress(message, into: &output))
            }
        } setup: {
            try MessageCompressor()
        }
        Benchmark("Inflate \(name)") { (benchmark, setup: (MessageDecompressor, ByteBuffer)) in
            let (decompressor, compressed) = setup
            var output = ByteBufferAllocator().buffer(capacity: size + 64)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                output.clear()
                try decompressor.decompress(compressed, limit: 1 << 20, into: &output)
                blackHole(output)
            }
        } setup: {
            var compressed = ByteBuffer()
            try MessageCompressor().compress(message, into: &compressed)
            return (try MessageDecompressor(), compressed)
        }
    }

    Benchmark("Frame parsing and assembly, 100 masked 128 B frames") { (benchmark, wire: ByteBuffer) in
        var parser = ClientFrameParser(maxFrameSize: 1 << 20)
        var assembler = MessageAssembler(maxMessageBytes: 1 << 20, compressionNegotiated: false)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            try parser.parse(wire) { blackHole(assembler.receive($0)) }
        }
    } setup: {
        var wire = ByteBuffer()
        let mask = WebSocketMaskingKey([1, 2, 3, 4])!
        for _ in 0..<100 {
            wire.writeBytes([0x81, 0x80 | 126, 0, 128])
            wire.writeBytes(mask)
            wire.writeBytes((0..<128).map { UInt8(ascii: "a") ^ mask[$0 % 4] })
        }
        return wire
    }

    Benchmark("Fan-out of 32 messages in one turn to 1000 subscribers (core side)") { (benchmark, setup: (BrokerCore, EmbeddedEventLoop)) in
        let (core, loop) = setup
        let topic = try TopicName("prices.AAPL")
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            for _ in 0..<32 { core.submit(topic: topic, payload: priceTick, retain: false) { blackHole($0) } }
            loop.run()  // one gathered batch per run of publishes, shared by the subscribers that got it
        }
    } setup: {
        coreWithSubscribers(1000) { _ in 0 }
    }
}

let priceTick = ByteBuffer(string: #"{"symbol":"AAPL","price":189.25,"bid":189.24,"ask":189.26,"volume":1200,"venue":"XNAS","ts":1795675807468}"#)

/// A core without history on an embedded loop, with `count` raw-mode subscribers to
/// `prices.*` and no connections; `windowBits` gives each one's deflate window (0: none).
func coreWithSubscribers(_ count: Int, windowBits: (Int) -> UInt8) -> (BrokerCore, EmbeddedEventLoop) {
    let loop = EmbeddedEventLoop()
    let outbox = LoopOutbox(loop: loop)
    var configuration = BrokerCore.Configuration(Settings())
    configuration.historyPerTopic = 0
    let core = BrokerCore(loop: loop, outboxes: [outbox], configuration: configuration)
    for index in 0..<count {
        let form = WireForm(mode: .raw, deflateWindowBits: windowBits(index))
        core.attach(Subscriber(wireForm: form, outbox: outbox), handshake: ByteBuffer(), rawPattern: try! TopicPattern("prices.*"))
    }
    loop.run()
    return (core, loop)
}

/// JSON-shaped text of about `bytes` bytes that compresses like a real feed.
func jsonLike(bytes: Int) -> ByteBuffer {
    var text = "{\"rows\":["
    var index = 0
    while text.utf8.count < bytes - 40 {
        text += "{\"i\":\(index),\"p\":\(189 + index % 7).\(index * 37 % 100)},"
        index += 1
    }
    text += "{}]}"
    return ByteBuffer(string: text)
}
