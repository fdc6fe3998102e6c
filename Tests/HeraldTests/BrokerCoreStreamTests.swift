@testable import HeraldCore
import HeraldSettings
import NIOCore
import NIOEmbedded
import Testing
import Topics

/// The core's side of PROTOCOL.md §6 (retained cap), §11 (keep-latest deliveries) and §12
/// (event streams), with recording connections on an embedded loop.
@Suite struct BrokerCoreStreamTests {
    let loop = EmbeddedEventLoop()
    let core: BrokerCore

    init() {
        var configuration = BrokerCore.Configuration(Settings())
        configuration.historyPerTopic = 10
        configuration.maxRetainedBytes = 8
        configuration.keepLatest = [try! TopicPattern("prices.>")]
        core = BrokerCore(loop: loop, outboxes: [LoopOutbox(loop: loop)], configuration: configuration)
    }

    func stream(_ patterns: [String], resume: (String, UInt64)? = nil) -> RecordingConnection {
        let subscriber = Subscriber(wireForm: WireForm(mode: .sse, deflateWindowBits: 0), outbox: core.outboxes[0])
        let connection = RecordingConnection()
        subscriber.connection = connection
        core.attachStream(
            subscriber, response: ByteBuffer(string: "200"), patterns: patterns.map { try! TopicPattern($0) },
            resume: resume.map { (epoch: $0.0, seq: $0.1) })
        loop.run()
        return connection
    }

    /// Every event's text, in order, whichever kind of delivery carried it.
    func events(_ connection: RecordingConnection) -> [String] {
        connection.deliveries.flatMap { delivery -> [String] in
            switch delivery {
            case .frames(let bytes, _, _), .latest(let bytes, _, _):
                String(buffer: bytes).components(separatedBy: "\n\n").filter { !$0.isEmpty }
            default: []
            }
        }
    }

    @Test func aNewRetainedTopicPastTheCapIsRefusedWithoutASeq() throws {
        let topic = { (name: String) in try! TopicName(name) }
        #expect(try core.accept(topic: topic("a"), payload: ByteBuffer(string: "12345678"), retain: true).get().seq == 1)
        #expect(core.accept(topic: topic("b"), payload: ByteBuffer(string: "x"), retain: true) == .failure(.retainedFull))
        #expect(try core.accept(topic: topic("b"), payload: ByteBuffer(string: "x"), retain: false).get().seq == 2, "not retained: accepted")
        #expect(try core.accept(topic: topic("a"), payload: ByteBuffer(string: "y"), retain: true).get().seq == 3, "replacing works")
        #expect(core.stats().retainedBytes == 1)
    }

    @Test func anEventStreamGetsRetainedFirstThenLiveEvents() {
        core.publish("news.a", #"{"n":1}"#, retain: true, on: loop)
        let connection = stream(["news.*"])
        core.publish("news.b", "plain text", on: loop)
        let epoch = core.epoch
        #expect(
            events(connection) == [
                "id: \(epoch):1\nevent: message\ndata: {\"topic\":\"news.a\",\"seq\":1,\"data\":{\"n\":1},\"retained\":true}",
                "id: \(epoch):2\nevent: message\ndata: {\"topic\":\"news.b\",\"seq\":2,\"data\":\"plain text\"}",
            ])
    }

    @Test func lastEventIDResumesAndAnotherEpochGetsANullGap() {
        for n in 1...3 { core.publish("news.a", "\(n)", on: loop) }
        let resumed = stream(["news.a"], resume: (core.epoch, 1))
        #expect(events(resumed).map { $0.components(separatedBy: "\n").first! } == ["id: \(core.epoch):2", "id: \(core.epoch):3"])
        let stranger = stream(["news.a"], resume: ("other", 2))
        #expect(events(stranger).first == "event: gap\ndata: {\"topic\":null,\"since\":2}")
        #expect(events(stranger).count == 4, "the gap, then all that is held")
    }

    @Test func keepLatestTopicsCoalesceWhileTheConnectionKeepsUp() {
        let (_, connection) = core.attachRecorded(on: loop, raw: ">")
        for n in 1...3 { core.publish(topic: try! TopicName("prices.A"), payload: ByteBuffer(string: "\(n)"), retain: false) }
        loop.run()
        #expect(connection.batchSizes == [3], "an up-to-date connection pays nothing for keep-latest")
    }

    @Test func keepLatestTopicsTravelAloneToALaggingConnection() {
        let (subscriber, connection) = core.attachRecorded(on: loop, raw: ">")
        subscriber.lagging.store(true, ordering: .relaxed)
        core.publish(topic: try! TopicName("prices.A"), payload: ByteBuffer(string: "1"), retain: false)
        core.publish(topic: try! TopicName("prices.A"), payload: ByteBuffer(string: "2"), retain: false)
        core.publish(topic: try! TopicName("news"), payload: ByteBuffer(string: "3"), retain: false)
        core.publish(topic: try! TopicName("news"), payload: ByteBuffer(string: "4"), retain: false)
        loop.run()
        let kinds = connection.deliveries.map { delivery -> String in
            switch delivery {
            case .latest(_, let topic, _): "latest \(topic)"
            case .frames(_, let messages, _): "frames \(messages)"
            default: "other"
            }
        }
        #expect(kinds == ["latest prices.A", "latest prices.A", "frames 2"])
    }
}
