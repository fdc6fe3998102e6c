@testable import HeraldWire
@testable import HeraldCore
@testable import HeraldServer
@testable import HeraldClient
import HeraldSettings
import Logging
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The real server in-process, on an ephemeral port and a temporary socket, driven over
/// real sockets by herald's own Swift clients. (tests/interop drives the binary with
/// third-party clients.)
@Suite(.serialized) struct ServerIntegrationTests {
    func withServer(_ adjust: (inout Settings) -> Void = { _ in }, _ body: (HeraldServer) throws -> Void) async throws {
        var configuration = Settings()
        configuration.listenPort = 0
        configuration.socketPath = "/tmp/herald-swift-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
        adjust(&configuration)
        let server = try await HeraldServer.start(settings: configuration, logger: Logger(label: "test"))
        do {
            try body(server)
        } catch {
            await server.shutdown()
            throw error
        }
        await server.shutdown()
        #expect(access(configuration.socketPath, F_OK) != 0, "shutdown removes the socket file")
    }

    /// A client whose reads fail after 10 s, so that a lost message fails the test instead
    /// of hanging it.
    func connect(_ server: HeraldServer, _ path: String, compression: Bool) throws -> BlockingWebSocket {
        let client = try BlockingWebSocket(host: "127.0.0.1", port: server.port, path: path, offerCompression: compression)
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(client.descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return client
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
            let client = try connect(server, "/topics/prices.%3E", compression: compression)
            #expect(try client.receive().map { String(decoding: $0.payload, as: UTF8.self) } == "189.2")
            let long = String(repeating: "tick 189.25 ", count: 50)
            #expect(try publish(server, "prices.us.AAPL", long) == "+OK 2 1")
            let message = try client.receive()
            #expect(message?.text == true)
            #expect(message.map { String(decoding: $0.payload, as: UTF8.self) } == long)
        }
    }

    @Test(arguments: [false, true])
    func jsonModeSubscribeAndResume(compression: Bool) async throws {
        try await withServer { server in
            _ = try publish(server, "pay.a", "one")
            _ = try publish(server, "pay.a", "{\"two\":2}")
            let client = try connect(server, "/ws", compression: compression)
            try client.sendText("{\"op\":\"subscribe\",\"topic\":\"pay.*\",\"since\":0,\"id\":7}")
            func next() throws -> String { try client.receive().map { String(decoding: $0.payload, as: UTF8.self) } ?? "closed" }
            #expect(try next().hasPrefix("{\"op\":\"ok\",\"id\":7,\"epoch\":"))
            #expect(try next() == "{\"op\":\"message\",\"topic\":\"pay.a\",\"seq\":1,\"data\":\"one\"}")
            #expect(try next() == "{\"op\":\"message\",\"topic\":\"pay.a\",\"seq\":2,\"data\":{\"two\":2}}")
            _ = try publish(server, "pay.b", "live")
            #expect(try next() == "{\"op\":\"message\",\"topic\":\"pay.b\",\"seq\":3,\"data\":\"live\"}")
        }
    }

    @Test func fanOutToHundredsLosesNothing() async throws {
        try await withServer { server in
            let clients = try (0..<300).map { index in
                try connect(server, "/topics/fan.out", compression: index % 2 == 0)
            }
            // Every subscription is active once its 101 has arrived, which the constructor waited for.
            for index in 0..<50 {
                #expect(try publish(server, "fan.out", "message \(index) " + String(repeating: "x", count: 100)).hasSuffix(" 300"))
            }
            for client in clients {
                for index in 0..<50 {
                    let payload = try client.receive().map { String(decoding: $0.payload, as: UTF8.self) }
                    #expect(payload?.hasPrefix("message \(index) ") == true)
                }
            }
        }
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
