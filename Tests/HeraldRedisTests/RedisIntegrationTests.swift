import Foundation
import HeraldRedis
import NIOCore
import NIOPosix
import Testing

private func connect(_ url: String, timeout: TimeAmount = .seconds(5)) async throws -> RedisConnection {
    try await RedisConnection.connect(to: RedisURL(url), on: MultiThreadedEventLoopGroup.singleton.next(), connectTimeout: timeout).get()
}

/// The error a future failed with, or nil if it succeeded.
private func failure<Value: Sendable>(of future: EventLoopFuture<Value>) async -> (any Error)? {
    do {
        _ = try await future.get()
        return nil
    } catch {
        return error
    }
}

/// The error connecting to `url` failed with, or nil if it connected.
private func connectFailure(_ url: String, timeout: TimeAmount = .seconds(5)) async throws -> (any Error)? {
    let future = RedisConnection.connect(to: try RedisURL(url), on: MultiThreadedEventLoopGroup.singleton.next(), connectTimeout: timeout)
    guard let error = await failure(of: future) else {
        try await future.get().close().get()
        return nil
    }
    return error
}

private func serverMessage(_ error: (any Error)?) -> String? {
    guard case .server(let message)? = error as? RedisError else { return nil }
    return message
}

private func isConnectionClosed(_ error: (any Error)?) -> Bool {
    guard case .connectionClosed? = error as? RedisError else { return false }
    return true
}

private func bulk(_ text: String) -> RESPValue { .bulkString(ByteBuffer(string: text)) }

/// The `name=value` fields of CLIENT INFO's one line.
private func clientInfo(_ connection: RedisConnection) async throws -> Set<String> {
    let line = try await connection.send(["CLIENT", "INFO"]).get().string ?? ""
    return Set(line.split(whereSeparator: \.isWhitespace).map(String.init))
}

@Suite(
    .enabled(if: RedisServer.isInstalled, "redis-server is not installed (apt-get install redis-server): skipping the tests against a real Redis"),
    .timeLimit(.minutes(2))
)
struct RedisIntegrationTests {
    @Test func pipelinesAThousandCommands() async throws {
        let server = try await RedisServer.start()
        defer { server.stop() }
        let connection = try await connect(server.tcpURL)

        let replies = (0..<1000).map { _ in connection.sendWithoutFlush(["INCR", "counter"]) }
        connection.flush()
        for (index, reply) in replies.enumerated() {
            #expect(try await reply.get() == .integer(Int64(index + 1)))
        }

        let flushedEach = (0..<1000).map { index in connection.send(["ECHO", .integer(Int64(index))]) }
        for (index, reply) in flushedEach.enumerated() {
            #expect(try await reply.get().int == Int64(index))
        }

        // From many threads at once: each reply still belongs to its own command.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<1000 {
                group.addTask {
                    let payload = ByteBuffer(string: "payload-\(index)")
                    let reply = try await connection.send(["ECHO", .bytes(payload)]).get()
                    #expect(reply == .bulkString(payload))
                }
            }
            try await group.waitForAll()
        }
        try await connection.close().get()
        #expect(!connection.isConnected)
    }

    @Test func speaksRESP3AfterHello() async throws {
        let server = try await RedisServer.start()
        defer { server.stop() }
        let connection = try await connect(server.tcpURL)
        #expect(try await clientInfo(connection).contains("resp=3"))
        _ = try await connection.send(["HSET", "h", "a", "1"]).get()
        #expect(try await connection.send(["HGETALL", "h"]).get() == .map([(bulk("a"), bulk("1"))]))
        _ = try await connection.send(["ZADD", "z", "1.5", "m"]).get()
        #expect(try await connection.send(["ZSCORE", "z", "m"]).get() == .double(1.5))
        #expect(try await connection.send(["GET", "missing"]).get() == .null)
        _ = try await connection.send(["SADD", "s", "x"]).get()
        #expect(try await connection.send(["SMEMBERS", "s"]).get() == .array([bulk("x")]))
        // An error reply is a successful future.
        let unknown = try await connection.send(["NOSUCHCOMMAND"]).get()
        #expect(unknown.isError)
        #expect(try await connection.send(["PING"]).get() == .simpleString("PONG"))
        try await connection.close().get()
    }

    @Test func authenticatesWithRequirepassAndACLUsers() async throws {
        let server = try await RedisServer.start(["--requirepass", "s3cr@t", "--user", "alice", "on", ">pw", "~*", "&*", "+@all"])
        defer { server.stop() }
        let connection = try await connect("redis://:s3cr%40t@127.0.0.1:\(server.port)")
        #expect(try await connection.send(["ACL", "WHOAMI"]).get().string == "default")
        try await connection.close().get()

        let alice = try await connect("redis://alice:pw@127.0.0.1:\(server.port)/2")
        #expect(try await alice.send(["ACL", "WHOAMI"]).get().string == "alice")
        #expect(try await clientInfo(alice).contains("db=2"))
        try await alice.close().get()

        let overUnix = try await connect("unix://\(server.socketPath)?password=s3cr%40t&db=4")
        #expect(try await clientInfo(overUnix).contains("db=4"))
        try await overUnix.close().get()

        let wrong = try await connectFailure("redis://:nope@127.0.0.1:\(server.port)")
        #expect(serverMessage(wrong)?.hasPrefix("WRONGPASS") == true, "\(String(describing: wrong))")
        let none = try await connectFailure(server.tcpURL)
        #expect(serverMessage(none)?.hasPrefix("NOAUTH") == true, "\(String(describing: none))")
    }

    @Test func selectsTheDatabase() async throws {
        let server = try await RedisServer.start()
        defer { server.stop() }
        let three = try await connect("redis://127.0.0.1:\(server.port)/3")
        #expect(try await three.send(["SET", "k", "in three"]).get() == .simpleString("OK"))
        let zero = try await connect(server.tcpURL)
        #expect(try await zero.send(["GET", "k"]).get() == .null)
        let overUnix = try await connect("unix://\(server.socketPath)?db=3")
        #expect(try await overUnix.send(["GET", "k"]).get() == bulk("in three"))

        let outOfRange = try await connectFailure("redis://127.0.0.1:\(server.port)/99")
        #expect(serverMessage(outOfRange)?.contains("DB index is out of range") == true, "\(String(describing: outOfRange))")
        for connection in [three, zero, overUnix] { try await connection.close().get() }
    }

    @Test func fallsBackToRESP2WhenHelloFails() async throws {
        let server = try await RedisServer.start(["--rename-command", "HELLO", "", "--requirepass", "pw"])
        defer { server.stop() }
        let connection = try await connect("redis://:pw@127.0.0.1:\(server.port)/5")
        let info = try await clientInfo(connection)
        #expect(info.contains("resp=2") && info.contains("db=5"), "\(info)")
        _ = try await connection.send(["HSET", "h", "a", "1"]).get()
        #expect(try await connection.send(["HGETALL", "h"]).get() == .array([bulk("a"), bulk("1")]))
        try await connection.close().get()

        let wrong = try await connectFailure("redis://:nope@127.0.0.1:\(server.port)")
        #expect(serverMessage(wrong) != nil, "\(String(describing: wrong))")
    }

    @Test func scriptsSurviveAFlushedScriptCache() async throws {
        let server = try await RedisServer.start()
        defer { server.stop() }
        let connection = try await connect(server.tcpURL)
        let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")

        #expect(try await script.run(on: connection, keys: ["n"], arguments: [.integer(5)]).get() == .integer(5))
        #expect(try await connection.send(["SCRIPT", "EXISTS", .string(script.sha1)]).get() == .array([.integer(1)]))
        #expect(try await connection.send(["SCRIPT", "FLUSH"]).get() == .simpleString("OK"))
        #expect(try await script.run(on: connection, keys: ["n"], arguments: [.integer(5)]).get() == .integer(10))
        #expect(try await connection.send(["SCRIPT", "LOAD", "return redis.call('INCRBY', KEYS[1], ARGV[1])"]).get().string == script.sha1)

        let failing = RedisScript("return redis.error_reply('MINE went wrong')")
        #expect(try await failing.run(on: connection, keys: [], arguments: []).get() == .error("MINE went wrong"))
        let broken = RedisScript("return (")
        // The retry answers NOSCRIPT again; what the caller sees is why the load failed.
        let compileError = try await broken.run(on: connection, keys: [], arguments: []).get()
        guard case .error(let message) = compileError else {
            Issue.record("expected an error reply, got \(compileError)")
            return
        }
        #expect(message.hasPrefix("ERR Error compiling script"), "\(message)")
        try await connection.close().get()
    }

    @Test func losingTheServerFailsPendingCommands() async throws {
        let server = try await RedisServer.start()
        defer { server.stop() }
        let connection = try await connect(server.tcpURL)
        let observer = try await connect(server.tcpURL)
        let info = try await observer.send(["INFO", "server"]).get().string ?? ""
        let pidLine = info.split(whereSeparator: \.isNewline).first { $0.hasPrefix("process_id:") }
        let pid = try #require(pidLine.flatMap { Int32($0.dropFirst("process_id:".count)) })

        // BLPOP blocks, and Redis answers nothing after it until it returns.
        let pending = [connection.send(["BLPOP", "never", .integer(0)])] + (0..<10).map { _ in connection.send(["PING"]) }
        for _ in 0..<100 {
            let clients = try await observer.send(["INFO", "clients"]).get().string ?? ""
            if clients.contains("blocked_clients:1") { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(kill(pid, SIGKILL) == 0)

        for reply in pending {
            #expect(isConnectionClosed(await failure(of: reply)))
        }
        try await connection.closeFuture.get()
        try await observer.closeFuture.get()
        #expect(!connection.isConnected)
        #expect(isConnectionClosed(await failure(of: connection.send(["PING"]))))
        try await connection.close().get()
    }
}

@Suite(.timeLimit(.minutes(1)))
struct RedisConnectFailureTests {
    @Test func aServerThatNeverAnswersTimesOut() async throws {
        let silent = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(silent.localAddress?.port)
        let started = ContinuousClock.now
        let error = try await connectFailure("redis://127.0.0.1:\(port)", timeout: .milliseconds(300))
        guard case .timeout? = error as? RedisError else {
            Issue.record("expected a timeout, got \(String(describing: error))")
            return
        }
        #expect(ContinuousClock.now - started < .seconds(3))
        try await silent.close().get()
    }

    @Test func aRefusedConnectionFails() async throws {
        let closed = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(closed.localAddress?.port)
        try await closed.close().get()
        #expect(try await connectFailure("redis://127.0.0.1:\(port)") != nil)
        #expect(try await connectFailure("unix:///nonexistent/herald-redis.sock") != nil)
    }
}
