import HeraldCore
import HeraldRedis
import Logging
import NIOCore
import Topics

/// Brokers sharing a Redis act as one (PROTOCOL.md §13, docs/ARCHITECTURE.md "Backplane").
///
/// A publish is accepted by one script call (`AcceptScript`): seq, log entry and retained
/// message in one atomic step. Every broker, the accepting one included, reads the log, a
/// Redis stream, from the last entry it has seen (`XREAD BLOCK` on a connection of its own)
/// and delivers each entry to its subscribers in seq order; after a reconnect it goes on
/// from that entry, so nothing published meanwhile is lost, and a seq that does not follow
/// the last one it delivered means the log was trimmed past it: a gap, which clients are
/// told of. A new epoch in Redis means Redis lost its data: the broker starts over from it.
///
/// Everything here runs on the core loop: both connections live on it, so their replies
/// reach the core without a hop.
package final class RedisBackplane: Backplane, @unchecked Sendable {
    package let name = "redis"
    private let url: RedisURL
    private let keys: RedisKeys
    private let core: BrokerCore
    private let logger: Logger
    private var loop: any EventLoop { core.loop }

    private var commands: RedisConnection?
    private var reader: RedisConnection?
    private var connected = false
    /// The id of the last log entry delivered here; XREAD goes on from it.
    private var lastID = "0-0"
    /// Whether this broker has loaded Redis's state once: later loads are discontinuities.
    private var loaded = false
    private var stopped = false
    private var retryDelay = RedisBackplane.firstRetry
    private var retryTask: Scheduled<Void>?
    private var flushScheduled = false
    /// The epoch a publish makes if Redis has none (it lost its data): one per broker run
    /// is enough, since only the first publish after the loss uses it.
    private let spareEpoch = RedisBackplane.freshEpoch()

    /// Entries the log keeps (approximately: `XADD MAXLEN ~`): how far behind a broker may
    /// fall and still catch up, and the history a broker that starts late can mirror.
    static let logLength = 100_000
    static let firstRetry = TimeAmount.milliseconds(100)
    static let lastRetry = TimeAmount.seconds(5)
    /// How long one XREAD waits for new entries before it is sent again.
    static let readBlockMilliseconds = 2000

    /// A backplane, not yet started, on the Redis that `url` names as `--redis` takes it
    /// (`RedisURL`): parsed here so that the server needs no Redis types of its own.
    /// - Throws: `RedisURL.Invalid` when `url` is not such an address.
    package init(url: String, prefix: String, core: BrokerCore, logger: Logger) throws {
        self.url = try RedisURL(url)
        self.keys = RedisKeys(prefix: prefix)
        self.core = core
        self.logger = logger
    }

    package var isConnected: Bool { connected }

    /// Core loop: connects and loads; completes once connected, or once the first attempt
    /// failed (the broker then starts refusing publishes and keeps trying).
    package func start() -> EventLoopFuture<Void> {
        loop.assertInEventLoop()
        return connect().recover { [self] error in
            logger.warning("backplane unreachable, retrying", metadata: ["redis": "\(url.address)", "error": "\(error)"])
            scheduleReconnect()
        }
    }

    package func stop() {
        loop.assertInEventLoop()
        stopped = true
        retryTask?.cancel()
        _ = commands?.close()
        _ = reader?.close()
    }

    // MARK: Accepting

    package func accept(
        topic: TopicName, payload: ByteBuffer, retain: Bool, binary: Bool,
        _ accepted: @escaping (Result<UInt64, BrokerCore.PublishRefusal>) -> Void
    ) {
        loop.assertInEventLoop()
        guard connected, let commands else { return accepted(.failure(.unavailable)) }
        let arguments: [RESPArgument] = [
            .string(topic.string), .bytes(payload), retain ? "1" : "0", binary ? "1" : "0",
            .string(spareEpoch), .integer(Int64(Self.logLength)),
        ]
        let scriptKeys: [RESPArgument] = [.string(keys.seq), .string(keys.epoch), .string(keys.log), .string(keys.retained)]
        // The script was loaded at connect; calls made in one turn of the loop leave in one
        // write. NOSCRIPT (a SCRIPT FLUSH since) takes the slow way: load and call again.
        let call: [RESPArgument] = ["EVALSHA", .string(AcceptScript.script.sha1), .integer(Int64(scriptKeys.count))] + scriptKeys + arguments
        commands.sendWithoutFlush(call).flatMap { reply -> EventLoopFuture<RESPValue> in
            guard case .error(let message) = reply, message.hasPrefix("NOSCRIPT") else { return commands.eventLoop.makeSucceededFuture(reply) }
            return AcceptScript.script.run(on: commands, keys: scriptKeys, arguments: arguments)
        }.assumeIsolated().whenComplete { result in  // the core loop's: `accepted` never leaves it
            guard case .success(let reply) = result, let fields = reply.array, let seq = fields.first?.int, seq > 0 else {
                accepted(.failure(.unavailable))
                return
            }
            accepted(.success(UInt64(seq)))
        }
        if !flushScheduled {
            flushScheduled = true
            loop.execute { [self] in
                flushScheduled = false
                self.commands?.flush()
            }
        }
    }

    // MARK: Connecting

    private func connect() -> EventLoopFuture<Void> {
        let commandsFuture = RedisConnection.connect(to: url, on: loop)
        let readerFuture = RedisConnection.connect(to: url, on: loop)
        return commandsFuture.and(readerFuture).flatMap { [self] commands, reader in
            self.commands = commands
            self.reader = reader
            return synchronize(commands).map { [self] in
                connected = true
                retryDelay = Self.firstRetry
                logger.info("backplane connected", metadata: ["redis": "\(url.address)", "epoch": "\(core.epoch)", "seq": "\(core.seq)"])
                for connection in [commands, reader] {
                    connection.closeFuture.whenComplete { [self] _ in lost(connection) }
                }
                readLog(on: reader)
            }.flatMapErrorThrowing { error in
                _ = commands.close()
                _ = reader.close()
                throw error
            }
        }
    }

    /// After each connect: the same epoch means this broker goes on from its last entry;
    /// another (or the first load) means loading the retained messages and the log anew.
    private func synchronize(_ commands: RedisConnection) -> EventLoopFuture<Void> {
        // Loaded before any publish: pipelined calls that all met NOSCRIPT would be retried
        // one by one, each behind calls sent later, and leave the log out of command order.
        _ = commands.sendWithoutFlush(["SCRIPT", "LOAD", .string(AcceptScript.source)])
        _ = commands.sendWithoutFlush(["SET", .string(keys.epoch), .string(Self.freshEpoch()), "NX"])
        return commands.send(["GET", .string(keys.epoch)]).flatMap { [self] reply in
            guard let epoch = reply.string else { return loop.makeFailedFuture(RedisError.protocolError("no epoch in Redis")) }
            if loaded && epoch == core.epoch { return loop.makeSucceededVoidFuture() }
            let retained = commands.sendWithoutFlush(["HGETALL", .string(keys.retained)])
            let log = commands.send(["XRANGE", .string(keys.log), "-", "+", "COUNT", .integer(Int64(Self.logLength * 2))])
            return retained.and(log).map { [self] retainedReply, logReply in
                load(epoch: epoch, retainedReply: retainedReply, logReply: logReply)
            }
        }
    }

    private func load(epoch: String, retainedReply: RESPValue, logReply: RESPValue) {
        let entries = (logReply.array ?? []).compactMap(LogEntry.init)
        var retained: [BackplaneMessage] = []
        let pairs: [(RESPValue, RESPValue)] =
            switch retainedReply {
            case .map(let pairs): pairs
            case .array(let flat): stride(from: 0, to: flat.count - 1, by: 2).map { (flat[$0], flat[$0 + 1]) }
            default: []
            }
        for (topicValue, packed) in pairs {
            guard let topic = topicValue.string.flatMap({ try? TopicName($0) }), let message = Self.unpackRetained(packed, topic: topic) else { continue }
            retained.append(message)
        }
        let history = entries.map { BackplaneMessage(seq: $0.seq, topic: $0.topic, payload: $0.payload, binary: $0.binary) }
        lastID = entries.last?.id ?? "0-0"
        core.loadFromBackplane(epoch: epoch, seq: entries.last?.seq ?? 0, history: history, retained: retained, replacing: loaded)
        loaded = true
    }

    /// `<seq>:<binary>:<payload>`.
    private static func unpackRetained(_ value: RESPValue, topic: TopicName) -> BackplaneMessage? {
        guard var bytes = value.bytes else { return nil }
        guard let seqText = bytes.readString(length: bytes.readableBytesView.firstIndex(of: UInt8(ascii: ":")).map { $0 - bytes.readerIndex } ?? 0),
            let seq = UInt64(seqText), bytes.readInteger(as: UInt8.self) == UInt8(ascii: ":"),
            let binary = bytes.readInteger(as: UInt8.self), bytes.readInteger(as: UInt8.self) == UInt8(ascii: ":")
        else { return nil }
        return BackplaneMessage(seq: seq, topic: topic, payload: bytes, binary: binary == UInt8(ascii: "1"))
    }

    // MARK: Reading the log

    private func readLog(on reader: RedisConnection) {
        guard !stopped, reader.isConnected else { return }
        let read: [RESPArgument] = [
            "XREAD", "COUNT", "512", "BLOCK", .integer(Int64(Self.readBlockMilliseconds)), "STREAMS", .string(keys.log), .string(lastID),
        ]
        reader.send(read).whenComplete { [self] result in
            guard case .success(let reply) = result, !reply.isError else {
                if case .success(let reply) = result { logger.warning("backplane read refused", metadata: ["reply": "\(reply)"]) }
                _ = reader.close()
                return
            }
            for entry in LogEntry.entries(ofXRead: reply) { deliver(entry) }
            readLog(on: reader)
        }
    }

    private func deliver(_ entry: LogEntry) {
        lastID = entry.id
        if entry.epoch != core.epoch {
            // Redis lost its data and a publish made a new epoch before this broker noticed.
            logger.warning("backplane has a new epoch: Redis lost its data", metadata: ["epoch": "\(entry.epoch)"])
            core.backplaneDiscontinuity(resumingAfter: entry.seq - 1, newEpoch: entry.epoch)
        } else if entry.seq > core.seq + 1 {
            logger.warning(
                "backplane log trimmed past this broker's position",
                metadata: [
                    "delivered": "\(core.seq)", "next": "\(entry.seq)",
                ])
            core.backplaneDiscontinuity(resumingAfter: entry.seq - 1, newEpoch: nil)
        }
        core.deliverAccepted(seq: entry.seq, topic: entry.topic, payload: entry.payload, retain: entry.retain, binary: entry.binary)
    }

    // MARK: Losing Redis

    private func lost(_ connection: RedisConnection) {
        guard connection === commands || connection === reader else { return }
        _ = commands?.close()
        _ = reader?.close()
        commands = nil
        reader = nil
        guard !stopped else { return }
        if connected {
            connected = false
            logger.warning("backplane disconnected: publishes are refused until it is back", metadata: ["redis": "\(url.address)"])
        }
        scheduleReconnect()
    }

    private func scheduleReconnect() {
        guard !stopped, retryTask == nil else { return }
        let delay = retryDelay
        retryDelay = min(retryDelay * 2, Self.lastRetry)
        retryTask = loop.scheduleTask(in: delay) { [self] in
            retryTask = nil
            connect().whenFailure { [self] error in
                logger.debug("backplane reconnect failed", metadata: ["error": "\(error)"])
                scheduleReconnect()
            }
        }
    }

    static func freshEpoch() -> String {
        var generator = SystemRandomNumberGenerator()
        return String(generator.next() as UInt64, radix: 16)
    }
}
