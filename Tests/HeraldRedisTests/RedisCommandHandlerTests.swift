import NIOCore
import NIOEmbedded
import Testing

@testable import HeraldRedis

/// Holds a future's result; EmbeddedEventLoop runs callbacks synchronously on this thread.
private final class Outcome<Value: Sendable>: @unchecked Sendable {
    var result: Result<Value, any Error>?

    init(_ future: EventLoopFuture<Value>) {
        future.whenComplete { self.result = $0 }
    }

    var value: Value? { try? result?.get() }

    var redisError: RedisError? {
        guard case .failure(let error)? = result else { return nil }
        return error as? RedisError
    }
}

private func makeChannel() throws -> EmbeddedChannel {
    let channel = EmbeddedChannel()
    try channel.pipeline.syncOperations.addHandlers(ByteToMessageHandler(RESPDecoder()), RedisCommandHandler())
    channel.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 6379), promise: nil)
    return channel
}

/// Through `RedisConnection`, whose write promise also answers commands written after the
/// channel closed (and its handlers were removed).
private func command(_ channel: EmbeddedChannel, _ arguments: [RESPArgument]) throws -> Outcome<RESPValue> {
    Outcome(RedisConnection(channel: channel).send(arguments))
}

extension RedisError {
    var isConnectionClosed: Bool {
        if case .connectionClosed = self { return true }
        return false
    }

    var isProtocolError: Bool {
        if case .protocolError = self { return true }
        return false
    }
}

@Suite struct RedisCommandHandlerTests {
    @Test func writesCommandsAndAnswersThemInOrder() throws {
        let channel = try makeChannel()
        let ping = try command(channel, ["PING"])
        let get = try command(channel, ["GET", "k"])
        let bad = try command(channel, ["EVALSHA", "0", .integer(0)])
        #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "*1\r\n$4\r\nPING\r\n"))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "*3\r\n$7\r\nEVALSHA\r\n$1\r\n0\r\n$1\r\n0\r\n"))

        try channel.writeInbound(ByteBuffer(string: "+PONG\r\n$1"))
        #expect(ping.value == .simpleString("PONG"))
        #expect(get.result == nil)
        try channel.writeInbound(ByteBuffer(string: "\r\nv\r\n-NOSCRIPT No matching script\r\n"))
        #expect(get.value == .bulkString(ByteBuffer(string: "v")))
        // An error reply is a reply: the caller decides what NOSCRIPT means.
        #expect(bad.value == .error("NOSCRIPT No matching script"))
        #expect(channel.isActive)
        _ = try channel.finish()
    }

    @Test func unaskedPushesAreIgnoredButAnswerAWaitingCommand() throws {
        let channel = try makeChannel()
        try channel.writeInbound(ByteBuffer(string: ">2\r\n+invalidate\r\n*1\r\n+k\r\n"))
        #expect(channel.isActive)
        let subscribe = try command(channel, ["SUBSCRIBE", "news"])
        try channel.writeInbound(ByteBuffer(string: ">3\r\n+subscribe\r\n+news\r\n:1\r\n"))
        #expect(subscribe.value == .array([.simpleString("subscribe"), .simpleString("news"), .integer(1)]))
        _ = try channel.finish()
    }

    @Test func anUnaskedReplyIsAProtocolErrorAndCloses() throws {
        let channel = try makeChannel()
        try channel.writeInbound(ByteBuffer(string: "+OK\r\n"))
        #expect(!channel.isActive)
        let late = try command(channel, ["PING"])
        #expect(late.redisError?.isConnectionClosed == true)
    }

    @Test func malformedInputFailsPendingCommandsAndCloses() throws {
        let channel = try makeChannel()
        let first = try command(channel, ["PING"])
        let second = try command(channel, ["PING"])
        _ = try? channel.writeInbound(ByteBuffer(string: "+PONG\r\n?junk\r\n"))
        #expect(first.value == .simpleString("PONG"))
        #expect(second.redisError?.isProtocolError == true)
        #expect(!channel.isActive)
    }

    @Test func closingFailsPendingCommandsWithConnectionClosed() throws {
        let channel = try makeChannel()
        let pending = try (0..<3).map { _ in try command(channel, ["BLPOP", "q", .integer(0)]) }
        channel.close(promise: nil)
        channel.embeddedEventLoop.run()
        for outcome in pending {
            #expect(outcome.redisError?.isConnectionClosed == true)
        }
    }

    @Test func eofInTheMiddleOfAReplyFailsItWithConnectionClosed() throws {
        let channel = try makeChannel()
        let pending = try command(channel, ["GET", "k"])
        try channel.writeInbound(ByteBuffer(string: "$10\r\nabc"))
        channel.pipeline.fireChannelInactive()
        #expect(pending.redisError?.isConnectionClosed == true)
    }

    @Test func sendOnAClosedConnectionFails() throws {
        let channel = try makeChannel()
        let connection = RedisConnection(channel: channel)
        #expect(connection.isConnected)
        // EmbeddedEventLoop futures are never waited for: nothing else would run the loop.
        let closed = Outcome(connection.close())
        channel.embeddedEventLoop.run()
        #expect(closed.result != nil)
        #expect(!connection.isConnected)
        let reply = Outcome(connection.send(["PING"]))
        channel.embeddedEventLoop.run()
        #expect(reply.redisError?.isConnectionClosed == true)
        let unflushed = Outcome(connection.sendWithoutFlush(["PING"]))
        connection.flush()
        channel.embeddedEventLoop.run()
        #expect(unflushed.redisError?.isConnectionClosed == true)
        // Closing twice is fine: it completes when the socket is closed, as it is.
        let again = Outcome(connection.close())
        channel.embeddedEventLoop.run()
        #expect(again.result != nil)
    }
}
