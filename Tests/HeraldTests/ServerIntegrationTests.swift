@testable import HeraldServer
@testable import HeraldClient
import HeraldSettings
import Logging
import NIOCore
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The real server in-process, on an ephemeral port and a temporary socket, driven over
/// real sockets by herald's own Swift clients. (tests/interop drives the binary with
/// third-party clients.)
@Suite(.serialized) struct ServerIntegrationTests {
    func withServer(_ adjust: (inout Settings) -> Void = { _ in }, _ body: (HeraldServer) async throws -> Void) async throws {
        var configuration = Settings()
        configuration.listenPort = 0
        configuration.socketPath = "/tmp/herald-swift-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
        adjust(&configuration)
        let server = try await HeraldServer.start(settings: configuration, logger: Logger(label: "test"))
        do {
            try await body(server)
        } catch {
            await server.shutdown()
            throw error
        }
        await server.shutdown()
        #expect(access(configuration.socketPath, F_OK) != 0, "shutdown removes the socket file")
    }

    // `.seconds(10)` would be ambiguous here, beside HeraldServer's `seconds(Double)`.
    static let readTimeout = TimeAmount.milliseconds(10_000)

    /// A client whose reads fail after 10 s, so that a lost message fails the test instead
    /// of hanging it.
    struct TestClient {
        let client: WebSocketClient

        func receive() async throws -> WebSocketMessage? {
            try await client.receive(timeout: ServerIntegrationTests.readTimeout)
        }

        func sendText(_ text: String) async throws {
            try await client.send(text: text)
        }
    }

    func connect(_ server: HeraldServer, _ path: String, compression: Bool) async throws -> TestClient {
        TestClient(client: try await WebSocketClient.connect(host: "127.0.0.1", port: server.port, path: path, offerCompression: compression))
    }

    /// One `PUB` over the Unix socket; returns the reply line.
    func publish(_ server: HeraldServer, _ topic: String, _ payload: String, retain: Bool = false) throws -> String {
        let descriptor = try UnixSocket.connect(server.settings.socketPath)
        defer { close(descriptor) }
        try UnixSocket.writeAll(descriptor, Array("PUB \(topic) \(payload.utf8.count)\(retain ? " RETAIN" : "")\r\n\(payload)\r\n".utf8))
        var reader = SocketReader(descriptor: descriptor)
        return try reader.readLine()
    }

    @Test(arguments: [false, true])
    func rawModeRetainedThenLive(compression: Bool) async throws {
        try await withServer { server in
            #expect(try publish(server, "prices.AAPL", "189.2", retain: true) == "+OK 1 0")
            let client = try await connect(server, "/topics/prices.%3E", compression: compression)
            #expect(try await client.receive()?.string == "189.2")
            let long = String(repeating: "tick 189.25 ", count: 50)
            #expect(try publish(server, "prices.us.AAPL", long) == "+OK 2 1")
            let message = try await client.receive()
            #expect(message?.opcode == .text)
            #expect(message?.string == long)
        }
    }

    @Test(arguments: [false, true])
    func jsonModeSubscribeAndResume(compression: Bool) async throws {
        try await withServer { server in
            _ = try publish(server, "pay.a", "one")
            _ = try publish(server, "pay.a", "{\"two\":2}")
            let client = try await connect(server, "/ws", compression: compression)
            try await client.sendText("{\"op\":\"subscribe\",\"topic\":\"pay.*\",\"since\":0,\"id\":7}")
            func next() async throws -> String { try await client.receive()?.string ?? "closed" }
            #expect(try await next().hasPrefix("{\"op\":\"ok\",\"id\":7,\"epoch\":"))
            #expect(try await next() == "{\"op\":\"message\",\"topic\":\"pay.a\",\"seq\":1,\"data\":\"one\"}")
            #expect(try await next() == "{\"op\":\"message\",\"topic\":\"pay.a\",\"seq\":2,\"data\":{\"two\":2}}")
            _ = try publish(server, "pay.b", "live")
            #expect(try await next() == "{\"op\":\"message\",\"topic\":\"pay.b\",\"seq\":3,\"data\":\"live\"}")
        }
    }

    @Test func fanOutToHundredsLosesNothing() async throws {
        try await withServer { server in
            var clients: [TestClient] = []
            for index in 0..<300 {
                clients.append(try await connect(server, "/topics/fan.out", compression: index % 2 == 0))
            }
            // Every subscription is active once its 101 has arrived, which `connect` waited for.
            for index in 0..<50 {
                #expect(try publish(server, "fan.out", "message \(index) " + String(repeating: "x", count: 100)).hasSuffix(" 300"))
            }
            for client in clients {
                for index in 0..<50 {
                    let payload = try await client.receive()?.string
                    #expect(payload?.hasPrefix("message \(index) ") == true)
                }
            }
        }
    }

    @Test(arguments: [false, true])
    func largeMessagesArriveWhole(compression: Bool) async throws {
        try await withServer { server in
            let client = try await connect(server, "/topics/big", compression: compression)
            var bytes = [UInt8]()
            var generator = SystemRandomNumberGenerator()
            // Half random, so that it stays large once compressed and spans many TCP reads.
            for index in 0..<200_000 { bytes.append(index % 2 == 0 ? UInt8.random(in: 97...122, using: &generator) : 32) }
            let payload = String(decoding: bytes, as: UTF8.self)
            #expect(try publish(server, "big", payload) == "+OK 1 1")
            #expect(try await client.receive()?.string == payload)
        }
    }

    @Test func refusedUpgradeSaysWhy() async throws {
        try await withServer { server in
            do {
                _ = try await connect(server, "/topics/a..b", compression: true)
                Issue.record("an invalid pattern was accepted")
            } catch let error as WebSocketClientError {
                guard case .refused(let status, _) = error else {
                    Issue.record("unexpected \(error)")
                    return
                }
                #expect(status == .badRequest)
                #expect(!error.description.contains("\n"))
            }
        }
    }

    @Test func aReadWithoutMessageTimesOut() async throws {
        try await withServer { server in
            let client = try await WebSocketClient.connect(host: "127.0.0.1", port: server.port, path: "/topics/quiet")
            await #expect(throws: WebSocketClientError.timedOut(.milliseconds(100))) { try await client.receive(timeout: .milliseconds(100)) }
            // A timeout fails that read only; the connection goes on.
            #expect(try publish(server, "quiet", "now") == "+OK 1 1")
            #expect(try await client.receive(timeout: ServerIntegrationTests.readTimeout)?.string == "now")
        }
    }

    @Test func brokerShutdownEndsTheStreamWithItsCloseFrame() async throws {
        var configuration = Settings()
        configuration.listenPort = 0
        configuration.socketPath = "/tmp/herald-swift-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
        let server = try await HeraldServer.start(settings: configuration, logger: Logger(label: "test"))
        let client = try await WebSocketClient.connect(host: "127.0.0.1", port: server.port, path: "/ws")
        try await client.send(text: "{\"op\":\"subscribe\",\"topic\":\"t\",\"id\":1}")
        #expect(try await client.receive(timeout: ServerIntegrationTests.readTimeout)?.string.hasPrefix("{\"op\":\"ok\"") == true)
        let start = ContinuousClock.now
        async let stopped: Void = server.shutdown()
        #expect(try await client.receive(timeout: ServerIntegrationTests.readTimeout) == nil)
        #expect(await client.closeStatus() == WebSocketCloseStatus(code: 1001, reason: "server shutting down"))
        await stopped
        // The echo went back, so the broker did not wait out its 5 s grace for this connection.
        #expect(ContinuousClock.now - start < .seconds(4))
        #expect(try await client.receive() == nil)
    }

    @Test func unixSocketPipeliningAndErrors() async throws {
        try await withServer { server in
            let descriptor = try UnixSocket.connect(server.settings.socketPath)
            defer { close(descriptor) }
            try UnixSocket.writeAll(descriptor, Array("PUB a 1\r\nx\r\nPUB b.* 2\r\nyy\r\nPING\r\nPUB c 0\r\n\r\nBOGUS\r\n".utf8))
            var reader = SocketReader(descriptor: descriptor)
            #expect(try reader.readLine() == "+OK 1 0")
            #expect(try reader.readLine().hasPrefix("-ERR invalid_topic "))
            #expect(try reader.readLine() == "+PONG")
            #expect(try reader.readLine() == "+OK 2 0")
            #expect(try reader.readLine().hasPrefix("-ERR bad_request "))
            #expect(throws: UnixSocket.Failure.self) { try reader.readLine() }
        }
    }
}
