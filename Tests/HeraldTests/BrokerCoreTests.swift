@testable import HeraldCore
import HeraldAuth
import HeraldSettings
import HeraldWire
import NIOCore
import NIOEmbedded
import Testing
import Topics

/// The core's rules with recording connections on an embedded loop: nothing here opens a
/// socket, and `loop.run()` stands for the end of the core loop's turn.
@Suite struct BrokerCoreTests {
    let loop = EmbeddedEventLoop()
    let core: BrokerCore

    init() {
        var configuration = BrokerCore.Configuration(Settings())
        configuration.historyPerTopic = 3
        configuration.maxSubscriptionsPerConnection = 2
        configuration.allowClientPublish = [try! TopicPattern("chat.>")]
        core = BrokerCore(loop: loop, outboxes: [LoopOutbox(loop: loop)], configuration: configuration)
    }

    func connect(raw pattern: String? = nil) -> (Subscriber, RecordingConnection) { core.attachRecorded(on: loop, raw: pattern) }

    func send(_ json: String, from subscriber: Subscriber) { core.send(json, from: subscriber, on: loop) }

    @discardableResult
    func publish(_ topic: String, _ payload: String, retain: Bool = false, binary: Bool = false) -> BrokerCore.PublishResult {
        core.publish(topic, payload, retain: retain, binary: binary, on: loop)
    }

    func payloads(_ connection: RecordingConnection) -> [String] { connection.messages.map(\.payload) }

    @Test func overlappingPatternsDeliverOnce() {
        let (subscriber, connection) = connect()
        send(#"{"op":"subscribe","topic":"a.*"}"#, from: subscriber)
        send(#"{"op":"subscribe","topic":"a.>"}"#, from: subscriber)
        connection.clear()
        #expect(publish("a.b", "1").deliveries == 1)
        #expect(payloads(connection) == [#"{"op":"message","topic":"a.b","seq":1,"data":1}"#])
    }

    @Test func rawModeGetsRetainedThenLiveAndKeepsTheBinaryMark() {
        publish("p.x", "old", retain: true)
        publish("p.x", "kept", retain: true)
        let (_, connection) = connectRawAfterHandshake("p.*")
        #expect(connection.messages == [.init(text: true, payload: "kept")])
        connection.clear()
        publish("p.y", "text")
        publish("p.y", "text but binary", binary: true)
        #expect(connection.messages == [.init(text: true, payload: "text"), .init(text: false, payload: "text but binary")])
    }

    /// Retained messages follow the 101 in the same turn; `connect` clears them, so look
    /// before clearing.
    func connectRawAfterHandshake(_ pattern: String) -> (Subscriber, RecordingConnection) {
        let (subscriber, connection) = core.attachRecorded(on: loop, raw: pattern, keepingDeliveries: true)
        guard case .handshake? = connection.deliveries.first else {
            Issue.record("the 101 must come first")
            return (subscriber, connection)
        }
        return (subscriber, connection)
    }

    @Test func historyThenLiveLosesAndRepeatsNothing() {
        for n in 1...3 { publish("t", "\(n)") }
        let (subscriber, connection) = connect()
        send(#"{"op":"subscribe","topic":"t","since":1,"id":7}"#, from: subscriber)
        // A publish in the same turn as the subscribe comes after the replay, never before.
        core.handle(ClientRequest.parse(ByteBuffer(string: #"{"op":"ping"}"#)), from: subscriber)
        publish("t", "4")
        publish("t", "5")
        let seqs = connection.messages.compactMap { message -> Int? in
            guard let range = message.payload.range(of: #""seq":"#) else { return nil }
            return Int(message.payload[range.upperBound...].prefix { $0.isNumber })
        }
        #expect(connection.messages.first?.payload.hasPrefix(#"{"op":"ok","id":7"#) == true)
        #expect(seqs == [3, 2, 3, 4, 5], "ok carries seq 3; then 2 and 3 from history; then live 4 and 5")
    }

    @Test func evictedHistoryIsAGapAndAnotherEpochIsANullGap() {
        for n in 1...5 { publish("t", "\(n)") }  // history keeps 3..5
        let (subscriber, connection) = connect()
        send(#"{"op":"subscribe","topic":"t","since":1}"#, from: subscriber)
        #expect(
            Array(payloads(connection).dropFirst().prefix(2)) == [
                #"{"op":"gap","topic":"t","since":1}"#,
                #"{"op":"message","topic":"t","seq":3,"data":3}"#,
            ])
        let (other, otherConnection) = connect()
        send(#"{"op":"subscribe","topic":"t","since":4,"epoch":"not-this-one"}"#, from: other)
        #expect(
            Array(payloads(otherConnection).dropFirst()) == [
                #"{"op":"gap","topic":null,"since":4}"#,
                #"{"op":"message","topic":"t","seq":3,"data":3}"#,
                #"{"op":"message","topic":"t","seq":4,"data":4}"#,
                #"{"op":"message","topic":"t","seq":5,"data":5}"#,
            ])
    }

    @Test func subscriptionLimitAndClientPublishRules() {
        let (subscriber, connection) = connect()
        send(#"{"op":"subscribe","topic":"a","id":1}"#, from: subscriber)
        send(#"{"op":"subscribe","topic":"b","id":2}"#, from: subscriber)
        send(#"{"op":"subscribe","topic":"a","id":3}"#, from: subscriber)  // already held: not counted twice
        send(#"{"op":"subscribe","topic":"c","id":4}"#, from: subscriber)
        send(#"{"op":"publish","topic":"news.x","data":"hi","id":5}"#, from: subscriber)
        send(#"{"op":"publish","topic":"chat.*","data":"hi","id":6}"#, from: subscriber)
        send(#"{"op":"unsubscribe","topic":"b","id":7}"#, from: subscriber)
        send(#"{"op":"subscribe","topic":"chat.>","id":8}"#, from: subscriber)
        send(#"{"op":"publish","topic":"chat.room","data":{"text":"hi"},"id":9}"#, from: subscriber)
        let codes = payloads(connection).map { payload -> String in
            if let range = payload.range(of: #""code":""#) { return String(payload[range.upperBound...].prefix { $0 != "\"" }) }
            return payload.hasPrefix(#"{"op":"ok""#) ? "ok" : payload
        }
        #expect(
            codes == [
                "ok", "ok", "ok", "too_many_subscriptions", "forbidden", "invalid_topic", "ok", "ok", "ok",
                #"{"op":"message","topic":"chat.room","seq":1,"data":{"text":"hi"}}"#,
            ])
    }

    @Test func smallFramesOfOneTurnLeaveAsOneBatchAndLargeOnesAlone() {
        let (_, connection) = connect(raw: "t")
        for n in 1...3 { _ = core.publish(topic: try! TopicName("t"), payload: ByteBuffer(string: "\(n)"), retain: false) }
        _ = core.publish(topic: try! TopicName("t"), payload: ByteBuffer(repeating: 0x61, count: 2000), retain: false)
        _ = core.publish(topic: try! TopicName("t"), payload: ByteBuffer(string: "5"), retain: false)
        loop.run()
        #expect(connection.batchSizes == [3, 1, 1])
        #expect(payloads(connection).map { $0.count } == [1, 1, 1, 2000, 1])
    }

    @Test func detachedSubscribersReceiveNothing() {
        let (subscriber, connection) = connect(raw: "t")
        core.detach(subscriber)
        #expect(publish("t", "x").deliveries == 0)
        #expect(connection.deliveries.isEmpty)
    }

    /// The outbox names open batches without retaining their subscribers: one the core
    /// forgets in the same turn, with no other reference left, must live until the batch
    /// is sent, and its frame still goes out (to a connection that no longer cares).
    @Test func aSubscriberDetachedWithAnOpenBatchLivesUntilItIsSent() {
        weak var forgotten: Subscriber?
        let connection: RecordingConnection
        do {
            let (subscriber, recording) = connect(raw: "t")
            connection = recording
            forgotten = subscriber
            _ = core.publish(topic: try! TopicName("t"), payload: ByteBuffer(string: "a"), retain: false)
            _ = core.publish(topic: try! TopicName("t"), payload: ByteBuffer(string: "b"), retain: false)
            core.detach(subscriber)
        }
        #expect(forgotten != nil, "kept until the batch is sent")
        _ = core.publish(topic: try! TopicName("t"), payload: ByteBuffer(string: "c"), retain: false)
        loop.run()
        #expect(payloads(connection) == ["a", "b"])
        #expect(forgotten == nil, "let go once sent")
    }

    /// Lone messages share the publish's frame; a second message in the same turn copies
    /// both into the subscriber's own batch, and subscribers of one publish do not mix.
    @Test func loneAndCoalescedFramesStayPerSubscriber() {
        let (_, first) = connect(raw: "a")
        let (_, second) = connect(raw: "b")
        _ = core.publish(topic: try! TopicName("a"), payload: ByteBuffer(string: "1"), retain: false)
        _ = core.publish(topic: try! TopicName("b"), payload: ByteBuffer(string: "2"), retain: false)
        _ = core.publish(topic: try! TopicName("a"), payload: ByteBuffer(string: "3"), retain: false)
        loop.run()
        #expect(payloads(first) == ["1", "3"])
        #expect(payloads(second) == ["2"])
        #expect(first.batchSizes == [2])
        #expect(second.batchSizes == [1])
    }

    /// Subscribers that got the same publishes in a turn share one gathered buffer; one whose
    /// run of publishes has a gap gets its own, and no subscriber gets another's messages.
    @Test func gatheredBatchesAreSharedOnlyBetweenEqualRuns() {
        let (_, all1) = connect(raw: ">")
        let (_, all2) = connect(raw: ">")
        let (_, onlyA) = connect(raw: "a")
        for (topic, payload) in [("a", "1"), ("b", "2"), ("a", "3"), ("a", "4")] {
            _ = core.publish(topic: try! TopicName(topic), payload: ByteBuffer(string: payload), retain: false)
        }
        loop.run()
        #expect(payloads(all1) == ["1", "2", "3", "4"])
        #expect(payloads(all2) == ["1", "2", "3", "4"])
        #expect(payloads(onlyA) == ["1", "3", "4"])
        #expect(all1.batchSizes == [4] && all2.batchSizes == [4] && onlyA.batchSizes == [3])
    }

    @Test func shutdownQueuesCloseBehindWhatIsQueued() {
        let (_, connection) = connect(raw: "t")
        _ = core.publish(topic: try! TopicName("t"), payload: ByteBuffer(string: "last"), retain: false)
        core.beginShutdown()
        loop.run()
        guard connection.deliveries.count == 2, case .frames = connection.deliveries[0], case .close(1001) = connection.deliveries[1] else {
            Issue.record("expected the frame then close 1001, got \(connection.deliveries)")
            return
        }
        #expect(core.accept(topic: try! TopicName("t"), payload: ByteBuffer(string: "after"), retain: false) == .failure(.shuttingDown))
        loop.run()
        #expect(connection.deliveries.count == 2, "a refused publish reaches no one")
    }
}

/// Access control on the core: JSON-mode subscriptions and publishes, and the `auth` op.
@Suite struct BrokerCoreAccessTests {
    let loop = EmbeddedEventLoop()
    let core: BrokerCore
    let keys = try! AuthKeys(parsing: "k1-0123456789abcdef0123456789abcdef")

    init() {
        let policy = AccessPolicy(keys: keys, allowAnonymous: [try! TopicPattern("public.>")], allowClientPublish: [try! TopicPattern("chat.>")])
        core = BrokerCore(loop: loop, outboxes: [LoopOutbox(loop: loop)], configuration: .init(Settings()), policy: policy)
    }

    func grants(subscribe: [String], publish: [String] = []) -> Grants {
        Grants(subject: nil, subscribe: subscribe.map { try! TopicPattern($0) }, publish: publish.map { try! TopicPattern($0) })
    }

    func connect(grants: Grants?) -> (Subscriber, RecordingConnection) { core.attachRecorded(on: loop, grants: grants) }

    func send(_ json: String, from subscriber: Subscriber) { core.send(json, from: subscriber, on: loop) }

    func lastReply(_ connection: RecordingConnection) -> String { connection.messages.last?.payload ?? "" }

    @Test func anonymousConnectionsGetAllowAnonymousAndClientPublishOnly() {
        let (anonymous, connection) = connect(grants: nil)
        send(#"{"op":"subscribe","topic":"public.news","id":1}"#, from: anonymous)
        #expect(lastReply(connection).hasPrefix(#"{"op":"ok","id":1"#))
        send(#"{"op":"subscribe","topic":"private.x","id":2}"#, from: anonymous)
        #expect(lastReply(connection).contains(#""code":"forbidden""#))
        send(#"{"op":"publish","topic":"chat.room","data":1,"id":3}"#, from: anonymous)
        #expect(lastReply(connection).hasPrefix(#"{"op":"ok","id":3"#))
        send(#"{"op":"publish","topic":"news.x","data":1,"id":4}"#, from: anonymous)
        #expect(lastReply(connection).contains(#""code":"forbidden""#))
    }

    @Test func tokenHoldersRightsComeFromClaimsAlone() {
        let (holder, connection) = connect(grants: grants(subscribe: ["prices.*"], publish: ["orders.>"]))
        send(#"{"op":"subscribe","topic":"public.news","id":1}"#, from: holder)
        #expect(lastReply(connection).contains("forbidden"), "allow-anonymous does not extend a token")
        send(#"{"op":"publish","topic":"chat.room","data":1,"id":2}"#, from: holder)
        #expect(lastReply(connection).contains("forbidden"), "nor does allow-client-publish")
        send(#"{"op":"publish","topic":"orders.new","data":1,"id":3}"#, from: holder)
        #expect(lastReply(connection).hasPrefix(#"{"op":"ok","id":3"#))
    }

    @Test func authReplacesGrantsAndEndsWhatTheNewTokenDoesNotCover() {
        let (holder, connection) = connect(grants: grants(subscribe: [">"]))
        send(#"{"op":"subscribe","topic":"prices.*"}"#, from: holder)
        send(#"{"op":"subscribe","topic":"news.>"}"#, from: holder)
        core.authorize(holder, grants: .success(grants(subscribe: ["prices.>"])), id: .number("7"))
        loop.run()
        #expect(lastReply(connection) == #"{"op":"ok","id":7,"removed":["news.>"]}"#)
        connection.clear()
        _ = core.publish(topic: try! TopicName("news.x"), payload: ByteBuffer(string: "1"), retain: false)
        _ = core.publish(topic: try! TopicName("prices.x"), payload: ByteBuffer(string: "2"), retain: false)
        loop.run()
        #expect(connection.messages.map(\.payload) == [#"{"op":"message","topic":"prices.x","seq":2,"data":2}"#])
        core.authorize(holder, grants: .failure(TokenError(.expired, "exp passed")), id: .number("8"))
        loop.run()
        #expect(lastReply(connection).contains(#""code":"unauthorized""#))
        send(#"{"op":"subscribe","topic":"prices.y","id":9}"#, from: holder)
        #expect(lastReply(connection).hasPrefix(#"{"op":"ok","id":9"#), "a refused auth changes nothing")
    }
}

/// Replays go out a bounded chunk per turn, pulled by the connection; live messages wait
/// behind them within the connection's budget (PROTOCOL.md §6).
@Suite struct BrokerCoreReplayTests {
    let loop = EmbeddedEventLoop()
    let core: BrokerCore

    init() {
        var configuration = BrokerCore.Configuration(Settings())
        configuration.historyPerTopic = 1000
        configuration.maxPendingBytes = 64 * 1024
        core = BrokerCore(loop: loop, outboxes: [LoopOutbox(loop: loop)], configuration: configuration)
    }

    func connect() -> (Subscriber, RecordingConnection) { core.attachRecorded(on: loop) }

    func publish(_ topic: String, _ payload: String, retain: Bool = false) { core.publish(topic, payload, retain: retain, on: loop) }

    /// What one turn sent: messages in the `.frames` deliveries since the last pause.
    func pulls(_ subscriber: Subscriber, _ connection: RecordingConnection) -> Int {
        var turns = 0
        while case .replayPaused? = connection.deliveries.last {
            turns += 1
            core.continueReplay(subscriber)
            loop.run()
        }
        return turns
    }

    func seqs(_ connection: RecordingConnection) -> [Int] {
        connection.messages.compactMap { message -> Int? in
            guard message.payload.hasPrefix(#"{"op":"message""#), let range = message.payload.range(of: #""seq":"#) else { return nil }
            return Int(message.payload[range.upperBound...].prefix { $0.isNumber })
        }
    }

    @Test func aLargeResumeGoesOutInChunksThenTheHeldLiveMessages() {
        for n in 1...3000 { publish("t.\(n % 50)", "\(n)") }
        let (subscriber, connection) = connect()
        core.handle(ClientRequest.parse(ByteBuffer(string: #"{"op":"subscribe","topic":">","since":0}"#)), from: subscriber)
        loop.run()
        #expect(seqs(connection).count <= 256, "one turn sends at most one chunk")
        publish("t.live", "live-1")
        publish("t.7", "live-2")
        let turns = pulls(subscriber, connection)
        #expect(turns >= 10)
        #expect(seqs(connection) == Array(1...3002), "every message once, in seq order, live ones last")
    }

    @Test func overlappingResumesSendNothingTwice() {
        for n in 1...20 { publish(n.isMultiple(of: 2) ? "a.x" : "a.y.z", "\(n)") }
        let (subscriber, connection) = connect()
        core.handle(ClientRequest.parse(ByteBuffer(string: #"{"op":"subscribe","topic":"a.*","since":0}"#)), from: subscriber)
        core.handle(ClientRequest.parse(ByteBuffer(string: #"{"op":"subscribe","topic":"a.>","since":0}"#)), from: subscriber)
        core.handle(ClientRequest.parse(ByteBuffer(string: #"{"op":"subscribe","topic":"a.>","since":5}"#)), from: subscriber)
        loop.run()
        _ = pulls(subscriber, connection)
        let sent = seqs(connection)
        #expect(Set(sent).count == sent.count, "no seq twice: \(sent)")
        #expect(Set(sent) == Set(1...20))
    }

    @Test func retainedMessagesOfManyTopicsGoOutInChunks() {
        for n in 1...1000 { publish("r.\(n)", "v\(n)", retain: true) }
        let (subscriber, connection) = connect()
        core.handle(ClientRequest.parse(ByteBuffer(string: #"{"op":"subscribe","topic":"r.*"}"#)), from: subscriber)
        loop.run()
        #expect(seqs(connection).count < 1000)
        _ = pulls(subscriber, connection)
        #expect(seqs(connection) == Array(1...1000))
        #expect(connection.messages.dropFirst().allSatisfy { $0.payload.hasSuffix(#""retained":true}"#) })
    }

    @Test func liveMessagesHeldPastTheBudgetMakeASlowConsumer() {
        for n in 1...2000 { publish("t", "\(n)") }
        let (subscriber, connection) = connect()
        core.handle(ClientRequest.parse(ByteBuffer(string: #"{"op":"subscribe","topic":"t","since":0}"#)), from: subscriber)
        loop.run()
        // The connection never pulls: live messages pile up behind the replay.
        for n in 1...2000 { publish("t", String(repeating: "x", count: 64) + "\(n)") }
        guard case .slowConsumer? = connection.deliveries.last else {
            Issue.record("expected a slow-consumer verdict, got \(String(describing: connection.deliveries.last))")
            return
        }
        #expect(subscriber.replay == nil, "the held frames are let go")
    }
}
