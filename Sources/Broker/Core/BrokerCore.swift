import HeraldWire
import Atomics
import HeraldAuth
import JSON
import Logging
import NIOCore
import Topics

/// The broker's shared state and the one place every publish passes through: the seq
/// counter, history, retained messages and the subscription index.
///
/// It lives on one event loop (the core loop) and is touched only there, which is what
/// makes a single seq order and lossless `since` resume possible without a lock. Unix-socket
/// publishers are served on the same loop, so their publishes need no hop at all;
/// WebSocket connections on other loops reach it with one `execute` per request.
/// `@unchecked Sendable` so other loops can hold the reference; every entry point asserts
/// it runs on `loop`.
package final class BrokerCore: @unchecked Sendable {
    package struct PublishResult: Equatable {
        package var seq: UInt64
        package var deliveries: Int
    }

    package let loop: any EventLoop
    package let configuration: Configuration
    /// What SIGHUP may change; read by connections on every loop.
    package let policy: AccessPolicyStore
    /// Changes only when a backplane's store lost its data (PROTOCOL.md §13).
    package internal(set) var epoch: String
    package let outboxes: [LoopOutbox]
    /// Set once, before the first connection, when brokers share a Redis (PROTOCOL.md §13).
    package var backplane: (any Backplane)?
    /// Publishes sent to the backplane whose seq has not come back through it yet.
    var publishesInFlight = 0
    /// Publishers waiting for their message to come back through the backplane, by seq: the
    /// deliveries they are told are this broker's own.
    var awaitingDelivery: [UInt64: (Result<PublishResult, PublishRefusal>) -> Void] = [:]
    /// Deliveries of messages that came back before the backplane answered their publisher.
    var deliveredBeforeAnswer: [UInt64: Int] = [:]

    var encoder: FrameEncoder
    package internal(set) var seq: UInt64 = 0
    var index = SubscriptionIndex<IndexedSubscriber>()
    var history: MessageHistory<PublishedMessage>
    var retained: RetainedMessages<PublishedMessage>
    var attached: Set<Subscriber> = []
    private var sendScheduled = false
    private var expirySweep: RepeatedTask?
    private var waitingPublishers: [() -> Void] = []
    package private(set) var isShuttingDown = false
    /// Set when the loops are about to stop: connections stop handing work to the core.
    package let isStopping = ManagedAtomic(false)

    var published = 0
    var delivered = 0
    package var publishers = 0

    /// Refusals of PROTOCOL.md §7 are logged, once each; nothing is logged per message.
    private let logger: Logger

    /// `policy` nil: the one `configuration` describes without keys (access control off).
    package init(
        loop: any EventLoop, outboxes: [LoopOutbox], configuration: Configuration, policy: AccessPolicy? = nil,
        logger: Logger = Logger(label: "herald", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.logger = logger
        self.loop = loop
        self.outboxes = outboxes
        self.configuration = configuration
        self.policy = AccessPolicyStore(policy ?? AccessPolicy(allowClientPublish: configuration.allowClientPublish))

        self.history = Self.emptyHistory(configuration)
        self.retained = RetainedMessages(maxBytes: configuration.maxRetainedBytes)
        var generator = SystemRandomNumberGenerator()
        self.epoch = String(generator.next() as UInt64, radix: 16)
        self.encoder = FrameEncoder(compressionThreshold: configuration.compressionThreshold, memoryLevel: configuration.deflateMemoryLevel, epoch: epoch)
        for outbox in outboxes {
            outbox.batchTaken = { [unowned self] in self.batchTaken() }
            outbox.subscriberLimit = max(configuration.maxPendingBytes / 4, 1)
        }
    }

    // MARK: Connections

    /// Registers a connection whose handshake passed. In raw mode its pattern is subscribed
    /// before the 101 response is queued, so nothing published after the client sees the
    /// 101 can miss it; retained messages follow the 101, as the connection drains.
    package func attach(_ subscriber: Subscriber, handshake: ByteBuffer, rawPattern: TopicPattern?) {
        loop.assertInEventLoop()
        guard !isShuttingDown else { return }
        subscriber.isAttached = true
        attached.insert(subscriber)
        subscriber.outbox.enqueue(.handshake(handshake), to: subscriber)
        if let pattern = rawPattern {
            subscriber.patterns[pattern] = seq
            index.insert(pattern, for: IndexedSubscriber(subscriber))
            startReplay(of: pattern, from: .retained, since: 0, coveredAbove: nil, for: subscriber)
        }
        scheduleSend()
    }

    /// Registers an event stream (PROTOCOL.md §12) whose request passed its checks: its
    /// patterns are subscribed before the response headers are queued; then, as it drains,
    /// the retained messages of each, or with `Last-Event-ID` what it missed, as `since` does.
    package func attachStream(_ subscriber: Subscriber, response: ByteBuffer, patterns: [TopicPattern], resume: (epoch: String, seq: UInt64)?) {
        loop.assertInEventLoop()
        guard !isShuttingDown else { return }
        subscriber.isAttached = true
        attached.insert(subscriber)
        subscriber.outbox.enqueue(.handshake(response), to: subscriber)
        defer { scheduleSend() }
        guard let resume else {
            for pattern in patterns {
                subscriber.patterns[pattern] = seq
                index.insert(pattern, for: IndexedSubscriber(subscriber))
                startReplay(of: pattern, from: .retained, since: 0, coveredAbove: nil, for: subscriber)
            }
            return
        }
        let sameEpoch = resume.epoch == epoch
        let from = sameEpoch ? resume.seq : 0
        if !sameEpoch || history.forgottenThrough > from || (configuration.historyPerTopic == 0 && from < seq) {
            reply(ServerReply.gap(topic: nil, since: resume.seq), to: subscriber)
        }
        for pattern in patterns {
            subscriber.patterns[pattern] = from
            index.insert(pattern, for: IndexedSubscriber(subscriber))
            if configuration.historyPerTopic > 0 {
                startReplay(of: pattern, from: .history(reportsGaps: sameEpoch), since: from, coveredAbove: nil, for: subscriber)
            }
        }
    }

    package func detach(_ subscriber: Subscriber) {
        loop.assertInEventLoop()
        guard subscriber.isAttached else { return }
        subscriber.isAttached = false
        subscriber.outbox.keepUntilSent(subscriber)
        attached.remove(subscriber)
        for pattern in subscriber.patterns.keys { index.remove(pattern, for: IndexedSubscriber(subscriber)) }
        subscriber.patterns.removeAll()
        subscriber.replay = nil
    }

    static func emptyHistory(_ configuration: Configuration) -> MessageHistory<PublishedMessage> {
        MessageHistory(
            capacityPerTopic: configuration.historyPerTopic, maxBytes: configuration.maxHistoryBytes, ttl: UInt64(configuration.historyTTLSeconds * 1e9))
    }

    // MARK: JSON mode

    package func handle(_ request: ClientRequest, from subscriber: Subscriber) {
        loop.assertInEventLoop()
        guard subscriber.isAttached else { return }
        defer { scheduleSend() }
        switch request.operation {
        case .failure(let failure):
            reply(ServerReply.error(id: request.id, code: failure.code, message: failure.message), to: subscriber)
        case .success(.ping):
            reply(ServerReply.pong(id: request.id), to: subscriber)
        case .success(.auth):
            // The connection verifies tokens itself and calls `authorize`; never reached.
            reply(ServerReply.error(id: request.id, code: "unauthorized", message: "token not verified"), to: subscriber)
        case .success(.subscribe(let text, let since, let clientEpoch)):
            subscribe(subscriber, to: text, since: since, clientEpoch: clientEpoch, id: request.id)
        case .success(.unsubscribe(let text)):
            do {
                let pattern = try TopicPattern(text)
                if subscriber.patterns.removeValue(forKey: pattern) != nil { index.remove(pattern, for: IndexedSubscriber(subscriber)) }
                reply(ServerReply.ok(id: request.id, epoch: epoch, seq: seq), to: subscriber)
            } catch {
                reply(ServerReply.error(id: request.id, code: "invalid_topic", message: error.description), to: subscriber)
            }
        case .success(.publish(let text, let payload, let retain, let binary)):
            let topic: TopicName
            do {
                topic = try TopicName(text)
            } catch {
                reply(ServerReply.error(id: request.id, code: "invalid_topic", message: error.description), to: subscriber)
                return
            }
            guard policy.current.mayPublish(to: topic, grants: subscriber.grants) else {
                refuse(subscriber, id: request.id, "publishing to '\(topic)' is not allowed")
                return
            }
            let id = request.id
            submit(
                topic: topic, payload: payload, retain: retain, binary: binary,
                numbered: { [unowned self] seq in
                    reply(ServerReply.ok(id: id, epoch: epoch, seq: seq), to: subscriber)
                    scheduleSend()
                }
            ) { [unowned self] result in
                guard case .failure(let refusal) = result else { return }
                reply(ServerReply.error(id: id, code: refusal.code, message: refusal.message), to: subscriber)
                scheduleSend()
            }
        }
    }

    private func subscribe(_ subscriber: Subscriber, to text: String, since: UInt64?, clientEpoch: String?, id: JSONValue?) {
        let pattern: TopicPattern
        do {
            pattern = try TopicPattern(text)
        } catch {
            reply(ServerReply.error(id: id, code: "invalid_topic", message: error.description), to: subscriber)
            return
        }
        guard policy.current.maySubscribe(to: pattern, grants: subscriber.grants) else {
            refuse(subscriber, id: id, "subscribing to '\(pattern)' is not allowed")
            return
        }
        let earlier = subscriber.patterns[pattern]
        if earlier == nil {
            guard subscriber.patterns.count < configuration.maxSubscriptionsPerConnection else {
                let limit = configuration.maxSubscriptionsPerConnection
                reply(ServerReply.error(id: id, code: "too_many_subscriptions", message: "at most \(limit) subscriptions per connection"), to: subscriber)
                return
            }
            index.insert(pattern, for: IndexedSubscriber(subscriber))
        }
        if since != nil, subscriber.replay?.cursors.contains(where: { $0.pattern == pattern }) == true {
            reply(ServerReply.error(id: id, code: "bad_request", message: "a replay of '\(pattern)' is already under way"), to: subscriber)
            return
        }
        reply(ServerReply.ok(id: id, epoch: epoch, seq: seq), to: subscriber)
        guard let since else {
            if earlier == nil {
                subscriber.patterns[pattern] = seq
                startReplay(of: pattern, from: .retained, since: 0, coveredAbove: nil, for: subscriber)
            }
            return
        }
        // Another epoch's `since` means nothing here: one null gap, then all that is held.
        let sameEpoch = clientEpoch == nil || clientEpoch == epoch
        let from = sameEpoch ? since : 0
        subscriber.patterns[pattern] = min(from, earlier ?? .max)
        if !sameEpoch {
            reply(ServerReply.gap(topic: nil, since: since), to: subscriber)
        } else if configuration.historyPerTopic == 0 {
            // No history: a topic it can name gets its own gap; a wildcard's topics, one null gap.
            if let topic = pattern.exactName {
                if history.evictedThrough(on: topic) > since { reply(ServerReply.gap(topic: topic.string, since: since), to: subscriber) }
            } else if since < seq {
                reply(ServerReply.gap(topic: nil, since: since), to: subscriber)
            }
            return
        }
        if let earlier, earlier <= from { return }  // this pattern already sent everything above `since`
        // Topics forgotten altogether (TTL, byte cap) cannot be named: one null gap for them.
        if sameEpoch, history.forgottenThrough > from { reply(ServerReply.gap(topic: nil, since: from), to: subscriber) }
        startReplay(of: pattern, from: .history(reportsGaps: sameEpoch), since: from, coveredAbove: earlier, for: subscriber)
    }

    /// A JSON-mode `auth` op whose token the connection verified (`grants`) or refused
    /// (`refusal`): a valid token replaces the old one and ends the subscriptions it no
    /// longer covers (PROTOCOL.md §7).
    package func authorize(_ subscriber: Subscriber, grants: Result<Grants, TokenError>, id: JSONValue?) {
        loop.assertInEventLoop()
        guard subscriber.isAttached else { return }
        defer { scheduleSend() }
        switch grants {
        case .failure(let error):
            reply(ServerReply.error(id: id, code: "unauthorized", message: "invalid token: \(error.reason.rawValue)"), to: subscriber)
        case .success(let grants):
            subscriber.grants = grants
            let removed = subscriber.patterns.keys.filter { !grants.maySubscribe(to: $0) }
            for pattern in removed {
                subscriber.patterns.removeValue(forKey: pattern)
                index.remove(pattern, for: IndexedSubscriber(subscriber))
                subscriber.replay?.cursors.removeAll { $0.pattern == pattern }
            }
            reply(ServerReply.authorized(id: id, removed: removed.map(\.string).sorted()), to: subscriber)
        }
    }

    private func refuse(_ subscriber: Subscriber, id: JSONValue?, _ reason: String) {
        logger.info("request forbidden", metadata: ["reason": "\(reason)", "subject": "\(subscriber.grants?.subject ?? "anonymous")"])
        reply(ServerReply.error(id: id, code: "forbidden", message: reason), to: subscriber)
    }

    func reply(_ json: ByteBuffer, to subscriber: Subscriber) {
        var frame = encoder.reply(json, as: subscriber.wireForm)
        subscriber.outbox.enqueue(frame: &frame, to: subscriber)
    }

    // MARK: Batching

    /// Sends every outbox's batch once the loop has finished what it is doing now, so that
    /// a read full of pipelined publishes becomes one hop and one flush per connection.
    func scheduleSend() {
        guard !sendScheduled else { return }
        sendScheduled = true
        loop.execute { self.sendOutboxes() }
    }

    func sendOutboxes() {
        sendScheduled = false
        for outbox in outboxes { outbox.send(from: loop) }
    }

    /// An outbox holds more than a loop's worth of frames: the core stops reading
    /// publishers until the loops catch up, so what it accepted is delivered and memory
    /// stays bounded however fast publishers write (PROTOCOL.md §6).
    package var isBackedUp: Bool { outboxes.contains { $0.overfull || $0.queuedBytes > Self.backedUpBytes } }
    static let backedUpBytes = 16 << 20

    /// A publisher whose reads wait for `isBackedUp` to clear; called on the core loop.
    package func whenCaughtUp(_ resume: @escaping () -> Void) {
        waitingPublishers.append(resume)
    }

    private func batchTaken() {
        sendOutboxes()
        guard !isBackedUp, !waitingPublishers.isEmpty else { return }
        let resumed = waitingPublishers
        waitingPublishers = []
        for resume in resumed { resume() }
    }

    // MARK: Memory bounds

    /// Drops the history of topics quiet for `--history-ttl`, checking a few times per TTL
    /// and at least every second; only topics filed as due are looked at.
    package func startExpirySweep() {
        guard configuration.historyTTLSeconds > 0, configuration.historyPerTopic > 0, expirySweep == nil else { return }
        let interval = TimeAmount.nanoseconds(Int64(min(1, max(0.01, configuration.historyTTLSeconds / 4)) * 1e9))
        expirySweep = loop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [unowned self] _ in
            history.expire(now: NIODeadline.now().uptimeNanoseconds)
        }
    }

    // MARK: Stats and shutdown

    package func stats() -> BrokerStats {
        loop.assertInEventLoop()
        let counters = outboxes.map(\.counters)
        func sum(_ field: (LoopCounters) -> ManagedAtomic<Int>) -> Int { counters.reduce(0) { $0 + field($1).load(ordering: .relaxed) } }
        var stats = BrokerStats()
        stats.webSocketConnections = sum(\.connections)
        stats.sseConnections = sum(\.sseConnections)
        stats.publishers = publishers
        stats.subscriptions = index.count
        stats.topics = topicsHeld()
        stats.published = published
        stats.delivered = delivered
        stats.dropped = sum(\.dropped)
        stats.conflated = sum(\.conflated)
        stats.slowDisconnects = sum(\.slowDisconnects)
        stats.bytesOut = sum(\.bytesOut)
        stats.authFailures = sum(\.authFailures)
        stats.historyBytes = history.payloadBytes
        stats.retainedBytes = retained.payloadBytes
        stats.epoch = epoch
        stats.seq = seq
        if let backplane {
            stats.backplane = backplane.name
            stats.backplaneConnected = backplane.isConnected
        }
        return stats
    }

    package func statsJSON() -> String { stats().json }

    /// Topics holding history or a retained message (PROTOCOL.md §5): those with history, and
    /// the retained ones without, found by walking the retained messages alone.
    private func topicsHeld() -> Int {
        var retainedOnly = 0
        _ = retained.scan(from: 0, through: .max, limit: .max) { message in
            if !history.holdsMessages(on: message.topic) { retainedOnly += 1 }
            return true
        }
        return history.topicsHoldingMessages + retainedOnly
    }

    /// Queues a 1001 close behind whatever each connection already has queued.
    package func beginShutdown() {
        loop.assertInEventLoop()
        isShuttingDown = true
        for subscriber in attached { subscriber.outbox.enqueue(.close(CloseCode.goingAway), to: subscriber) }
        sendOutboxes()
    }
}
