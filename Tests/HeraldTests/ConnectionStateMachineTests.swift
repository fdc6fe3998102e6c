@testable import HeraldServer
import NIOCore
import NIOWebSocket
import Testing
import Topics

@Suite struct ConnectionStateMachineTests {
    let mask = WebSocketMaskingKey([9, 8, 7, 6])!
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    func machine(limit: Int = 100, policy: ConnectionStateMachine.SlowConsumerPolicy = .disconnect) -> ConnectionStateMachine {
        ConnectionStateMachine(maxMessageBytes: 1000, compressed: false, backlogLimit: limit, policy: policy, now: start)
    }

    func frame(_ opcode: WebSocketOpcode, _ bytes: [UInt8], fin: Bool = true) -> WebSocketFrame {
        var data = ByteBuffer(bytes: bytes)
        data.webSocketMask(mask)
        return WebSocketFrame(fin: fin, opcode: opcode, maskKey: mask, data: data)
    }

    func text(_ string: String, fin: Bool = true) -> WebSocketFrame { frame(.text, Array(string.utf8), fin: fin) }

    @Test func framesBeforeTheHandshakeWaitAndComeBackInOrder() {
        var state = machine()
        #expect(state.framesQueued(ByteBuffer(string: "x"), messages: 1) == .ignore, "nothing goes out before the 101")
        #expect(state.frameReceived(text("a"), now: start) == .none)
        #expect(state.frameReceived(text("b"), now: start) == .none)
        let early = state.handshakeSent()
        #expect(state.phase == .open)
        #expect(early.map { String(buffer: $0.unmaskedData) } == ["a", "b"])
        #expect(state.handshakeSent().isEmpty, "the 101 is sent once")
    }

    @Test func tooManyEarlyFramesCloseTheConnection() {
        var state = machine()
        for _ in 0..<ConnectionStateMachine.earlyFrameLimit { #expect(state.frameReceived(text("a"), now: start) == .none) }
        #expect(state.frameReceived(text("a"), now: start) == .closeConnection)
    }

    @Test func writableConnectionsWriteAndOthersQueueInOrder() {
        var state = machine()
        _ = state.handshakeSent()
        #expect(state.framesQueued(ByteBuffer(string: "1"), messages: 1) == .write)
        state.isWritable = false
        #expect(state.framesQueued(ByteBuffer(string: "2"), messages: 1) == .queued(dropped: 0))
        #expect(state.nextGeneration().isEmpty, "nothing drains while the channel is not writable")
        state.isWritable = true
        #expect(state.framesQueued(ByteBuffer(string: "3"), messages: 1) == .queued(dropped: 0), "order: behind the backlog")
        #expect(state.nextGeneration() == [ByteBuffer(string: "2"), ByteBuffer(string: "3")])
        #expect(state.framesQueued(ByteBuffer(string: "4"), messages: 1) == .queued(dropped: 0), "lagging until caught up")
        #expect(state.nextGeneration().isEmpty, "one generation at a time")
        state.generationWritten()
        #expect(state.nextGeneration() == [ByteBuffer(string: "4")])
        state.generationWritten()
        #expect(state.nextGeneration().isEmpty && !state.lagging, "caught up")
        #expect(state.framesQueued(ByteBuffer(string: "5"), messages: 1) == .write)
    }

    @Test func disconnectPolicyEndsASlowConsumerWithWhatItHeld() {
        var state = machine(limit: 10)
        _ = state.handshakeSent()
        state.isWritable = false
        #expect(state.framesQueued(ByteBuffer(repeating: 1, count: 6), messages: 2) == .queued(dropped: 0))
        #expect(state.framesQueued(ByteBuffer(repeating: 1, count: 6), messages: 3) == .disconnectSlowConsumer(dropped: 5))
        #expect(state.phase == .closing)
        #expect(state.framesQueued(ByteBuffer(string: "late"), messages: 1) == .ignore)
    }

    @Test func dropPolicyDiscardsTheOldestAndKeepsTheNewest() {
        var state = machine(limit: 10, policy: .drop)
        _ = state.handshakeSent()
        state.isWritable = false
        #expect(state.framesQueued(ByteBuffer(string: "aaaa"), messages: 1) == .queued(dropped: 0))
        #expect(state.framesQueued(ByteBuffer(string: "bbbb"), messages: 2) == .queued(dropped: 0))
        #expect(state.framesQueued(ByteBuffer(string: "cccc"), messages: 1) == .queued(dropped: 1))
        #expect(state.phase == .open)
        state.isWritable = true
        #expect(state.nextGeneration() == [ByteBuffer(string: "bbbb"), ByteBuffer(string: "cccc")])
        #expect(state.closed() == 0)
    }

    @Test func shutdownDrainsEverythingWhateverTheWritability() {
        var state = machine()
        _ = state.handshakeSent()
        state.isWritable = false
        _ = state.framesQueued(ByteBuffer(string: "1"), messages: 1)
        _ = state.framesQueued(ByteBuffer(string: "2"), messages: 1)
        #expect(state.drainForShutdown() == [ByteBuffer(string: "1"), ByteBuffer(string: "2")])
        let first = state.closeInitiated()
        let second = state.closeInitiated()
        #expect(first && !second, "one close frame only")
    }

    @Test func clientCloseIsEchoedAndEndsTheConnection() {
        var state = machine()
        _ = state.handshakeSent()
        #expect(state.frameReceived(frame(.connectionClose, [0x03, 0xE8]), now: start) == .echoClose(code: 1000))
        #expect(state.phase == .closing)
        #expect(state.frameReceived(text("after"), now: start) == .none)
    }

    /// RFC 6455 §7.1.1: once our close went out and the client's came back, TCP closes at
    /// once; data that arrives in between is ignored.
    @Test func afterOurCloseTheClientsCloseEndsTheConnectionAtOnce() {
        var state = machine()
        _ = state.handshakeSent()
        #expect(state.frameReceived(frame(.connectionClose, [0x03]), now: start) == .fail(code: 1002, reason: "close payload of one byte"))
        let initiated = state.closeInitiated()
        #expect(initiated)
        #expect(state.frameReceived(text("x"), now: start) == .none)
        #expect(state.frameReceived(frame(.connectionClose, []), now: start) == .closeConnection)
    }

    @Test func fragmentedInvalidTextFailsAtTheFirstBadFragment() {
        var state = machine()
        _ = state.handshakeSent()
        #expect(state.frameReceived(text("héllo", fin: false), now: start) == .none)
        // 0xCE starts a two-byte sequence: fine until a byte that cannot continue it.
        #expect(state.frameReceived(frame(.continuation, [0x61, 0xCE], fin: false), now: start) == .none)
        #expect(state.frameReceived(frame(.continuation, [0x41], fin: false), now: start)
            == .fail(code: 1007, reason: "text message is not valid UTF-8"))
    }

    @Test func textThatEndsInsideACodePointIsInvalid() {
        var state = machine()
        _ = state.handshakeSent()
        #expect(state.frameReceived(text("a", fin: false), now: start) == .none)
        #expect(state.frameReceived(frame(.continuation, [0xE2, 0x82]), now: start) == .fail(code: 1007, reason: "text message is not valid UTF-8"))
    }

    @Test func binaryMessagesAreNotValidatedAsText() {
        var state = machine()
        _ = state.handshakeSent()
        #expect(state.frameReceived(frame(.binary, [0xFF, 0xFE]), now: start) == .message(text: false, payload: ByteBuffer(bytes: [0xFF, 0xFE]), compressed: false))
    }

    @Test func inflatedTextIsValidatedOnceReadable() {
        let state = machine()
        #expect(state.inflated(text: true, payload: ByteBuffer(bytes: [0xC0, 0x80])) == .fail(code: 1007, reason: "text message is not valid UTF-8"))
        #expect(state.inflated(text: false, payload: ByteBuffer(bytes: [0xC0])) == .message(text: false, payload: ByteBuffer(bytes: [0xC0]), compressed: false))
    }

    @Test func sweepPingsQuietConnectionsAndClosesIdleOnes() {
        var state = machine()
        _ = state.handshakeSent()
        let ping = TimeAmount.seconds(30 as Int64)
        let idle = TimeAmount.seconds(75 as Int64)
        #expect(state.sweep(now: start + .seconds(10 as Int64), idleTimeout: idle, pingInterval: ping) == .none)
        #expect(state.sweep(now: start + .seconds(31 as Int64), idleTimeout: idle, pingInterval: ping) == .ping)
        #expect(state.sweep(now: start + .seconds(40 as Int64), idleTimeout: idle, pingInterval: ping) == .none, "one ping per interval")
        _ = state.frameReceived(frame(.pong, []), now: start + .seconds(50 as Int64))
        #expect(state.sweep(now: start + .seconds(100 as Int64), idleTimeout: idle, pingInterval: ping) == .ping, "traffic resets the idle clock")
        #expect(state.sweep(now: start + .seconds(126 as Int64), idleTimeout: idle, pingInterval: ping) == .idleClose)
        _ = state.closeInitiated()
        #expect(state.sweep(now: start + .seconds(500 as Int64), idleTimeout: idle, pingInterval: ping) == .none)
    }
}

/// PROTOCOL.md §11 in the backlog: one pending message per keep-latest topic, in seq order.
@Suite struct KeepLatestBacklogTests {
    @Test func aNewerMessageReplacesThePendingOneOfItsTopic() throws {
        var state = ConnectionStateMachine(maxMessageBytes: 1000, compressed: false, backlogLimit: 1000, policy: .disconnect, now: .now())
        _ = state.handshakeSent()
        let a = try TopicName("prices.A")
        let b = try TopicName("prices.B")
        #expect(state.latestQueued(ByteBuffer(string: "A1"), topic: a) == (.write, 0), "an up-to-date connection writes at once")
        state.isWritable = false
        #expect(state.latestQueued(ByteBuffer(string: "A2"), topic: a).conflated == 0)
        #expect(state.latestQueued(ByteBuffer(string: "B1"), topic: b).conflated == 0)
        #expect(state.framesQueued(ByteBuffer(string: "other"), messages: 1) == .queued(dropped: 0))
        #expect(state.latestQueued(ByteBuffer(string: "A3"), topic: a).conflated == 1)
        #expect(state.latestQueued(ByteBuffer(string: "B2"), topic: b).conflated == 1)
        #expect(state.latestQueued(ByteBuffer(string: "A4"), topic: a).conflated == 1)
        state.isWritable = true
        let drained = state.nextGeneration().map { String(buffer: $0) }
        #expect(drained == ["other", "B2", "A4"], "the newest of each, in the order they were published")
    }

    @Test func overflowDropsOtherTopicsBeforeLatestOnes() throws {
        var state = ConnectionStateMachine(maxMessageBytes: 1000, compressed: false, backlogLimit: 6, policy: .drop, now: .now())
        _ = state.handshakeSent()
        state.isWritable = false
        _ = state.latestQueued(ByteBuffer(string: "AA"), topic: try TopicName("a"))
        #expect(state.framesQueued(ByteBuffer(string: "xx"), messages: 1) == .queued(dropped: 0))
        #expect(state.framesQueued(ByteBuffer(string: "yyy"), messages: 1) == .queued(dropped: 1), "xx goes, not AA")
        state.isWritable = true
        let drained = state.nextGeneration().map { String(buffer: $0) }
        #expect(drained == ["AA", "yyy"])
    }
}
