@testable import HeraldConnection
import NIOCore
import NIOWebSocket
import Testing
import Topics

@Suite struct ConnectionStateMachineTests {
    let mask = WebSocketMaskingKey([9, 8, 7, 6])!
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
    let response = ByteBuffer(string: "101")

    func machine(limit: Int = 100, policy: ConnectionStateMachine.SlowConsumerPolicy = .disconnect) -> ConnectionStateMachine {
        ConnectionStateMachine(maxMessageBytes: 1000, compressed: false, backlogLimit: limit, policy: policy, now: start)
    }

    /// Past its 101.
    func opened(limit: Int = 100, policy: ConnectionStateMachine.SlowConsumerPolicy = .disconnect) -> ConnectionStateMachine {
        var state = machine(limit: limit, policy: policy)
        _ = state.handshakeQueued(response)
        return state
    }

    func frame(_ opcode: WebSocketOpcode, _ bytes: [UInt8], fin: Bool = true) -> WebSocketFrame {
        var data = ByteBuffer(bytes: bytes)
        data.webSocketMask(mask)
        return WebSocketFrame(fin: fin, opcode: opcode, maskKey: mask, data: data)
    }

    func text(_ string: String, fin: Bool = true) -> WebSocketFrame { frame(.text, Array(string.utf8), fin: fin) }

    func generation(_ frames: String...) -> ConnectionStateMachine.Action {
        .resume(.generation(frames.map { ByteBuffer(string: $0) }), read: false)
    }

    @Test func framesBeforeTheHandshakeWaitAndComeBackInOrder() {
        var state = machine()
        #expect(state.framesQueued(ByteBuffer(string: "x"), messages: 1) == .none, "nothing goes out before the 101")
        #expect(state.frameReceived(text("a"), now: start) == .none)
        #expect(state.frameReceived(text("b"), now: start) == .none)
        let early = state.handshakeQueued(response)
        #expect(state.isOpen)
        guard case .sendHandshake(let sent, let frames) = early else {
            Issue.record("expected the 101, got \(early)")
            return
        }
        #expect(sent == response)
        #expect(frames.map { String(buffer: $0.unmaskedData) } == ["a", "b"])
        #expect(state.handshakeQueued(response) == .none, "the 101 is sent once")
    }

    @Test func tooManyEarlyFramesCloseTheConnection() {
        var state = machine()
        for _ in 0..<ConnectionStateMachine.earlyFrameLimit { #expect(state.frameReceived(text("a"), now: start) == .none) }
        #expect(state.frameReceived(text("a"), now: start) == .closeConnection)
    }

    @Test func writableConnectionsWriteAndOthersQueueInOrder() {
        var state = opened()
        #expect(state.framesQueued(ByteBuffer(string: "1"), messages: 1) == .write)
        #expect(state.writabilityChanged(false) == .markLagging)
        #expect(state.framesQueued(ByteBuffer(string: "2"), messages: 1) == .queued(dropped: 0, conflated: 0))
        #expect(state.writabilityChanged(true) == generation("2"))
        #expect(state.framesQueued(ByteBuffer(string: "3"), messages: 1) == .queued(dropped: 0, conflated: 0), "lagging until caught up")
        #expect(state.framesQueued(ByteBuffer(string: "4"), messages: 1) == .queued(dropped: 0, conflated: 0), "one generation at a time")
        #expect(state.writabilityChanged(false) == .markLagging)
        #expect(state.generationWritten() == .resume(.none, read: false), "nothing drains while the channel is not writable")
        #expect(state.writabilityChanged(true) == generation("3", "4"))
        #expect(state.generationWritten() == .resume(.caughtUp(continueReplay: false), read: false))
        #expect(state.isLive, "caught up")
        #expect(state.framesQueued(ByteBuffer(string: "5"), messages: 1) == .write)
    }

    @Test func disconnectPolicyEndsASlowConsumerWithWhatItHeld() {
        var state = opened(limit: 10)
        _ = state.writabilityChanged(false)
        #expect(state.framesQueued(ByteBuffer(repeating: 1, count: 6), messages: 2) == .queued(dropped: 0, conflated: 0))
        #expect(state.framesQueued(ByteBuffer(repeating: 1, count: 6), messages: 3) == .disconnectSlowConsumer(dropped: 5))
        guard case .closing = state.state else {
            Issue.record("expected closing, got \(state.state)")
            return
        }
        #expect(state.framesQueued(ByteBuffer(string: "late"), messages: 1) == .none)
        #expect(state.channelClosed() == .released(undelivered: 0), "what it held was counted once")
    }

    @Test func dropPolicyDiscardsTheOldestAndKeepsTheNewest() {
        var state = opened(limit: 10, policy: .drop)
        _ = state.writabilityChanged(false)
        #expect(state.framesQueued(ByteBuffer(string: "aaaa"), messages: 1) == .queued(dropped: 0, conflated: 0))
        #expect(state.framesQueued(ByteBuffer(string: "bbbb"), messages: 2) == .queued(dropped: 0, conflated: 0))
        #expect(state.framesQueued(ByteBuffer(string: "cccc"), messages: 1) == .queued(dropped: 1, conflated: 0))
        #expect(state.isOpen)
        #expect(state.writabilityChanged(true) == generation("bbbb", "cccc"))
        #expect(state.channelClosed() == .released(undelivered: 0))
    }

    @Test func theCoresBudgetEndsASlowConsumer() {
        var state = opened()
        _ = state.writabilityChanged(false)
        _ = state.framesQueued(ByteBuffer(string: "1"), messages: 3)
        #expect(state.overBudget() == .disconnectSlowConsumer(dropped: 3))
        #expect(state.overBudget() == .none, "once")
    }

    @Test func shutdownDrainsEverythingWhateverTheWritability() {
        var state = opened()
        _ = state.writabilityChanged(false)
        _ = state.framesQueued(ByteBuffer(string: "1"), messages: 1)
        _ = state.framesQueued(ByteBuffer(string: "2"), messages: 1)
        #expect(state.shutdownRequested(code: 1001) == .shutdown(drained: [ByteBuffer(string: "1"), ByteBuffer(string: "2")], code: 1001))
        #expect(state.closeRequested(code: 1001, reason: "") == .none, "one close frame only")
        #expect(state.shutdownRequested(code: 1001) == .none)
    }

    @Test func closingWithABacklogCountsItAsDroppedWhenTheConnectionEnds() {
        var state = opened()
        _ = state.writabilityChanged(false)
        _ = state.framesQueued(ByteBuffer(string: "1"), messages: 2)
        #expect(state.closeRequested(code: 1000, reason: "bye") == .sendClose(code: 1000, reason: "bye"))
        #expect(state.writabilityChanged(true) == .resume(.none, read: false), "a closing connection writes no more")
        #expect(state.channelClosed() == .released(undelivered: 2))
        #expect(state.channelClosed() == .none, "released once")
    }

    @Test func clientCloseIsEchoedAndEndsTheConnection() {
        var state = opened()
        #expect(state.frameReceived(frame(.connectionClose, [0x03, 0xE8]), now: start) == .echoClose(code: 1000))
        #expect(!state.isOpen)
        #expect(state.frameReceived(text("after"), now: start) == .none)
    }

    /// RFC 6455 §7.1.1: once our close went out and the client's came back, TCP closes at
    /// once; data that arrives in between is ignored.
    @Test func afterOurCloseTheClientsCloseEndsTheConnectionAtOnce() {
        var state = opened()
        #expect(state.frameReceived(frame(.connectionClose, [0x03]), now: start) == .sendClose(code: 1002, reason: "close payload of one byte"))
        #expect(state.closeRequested(code: 1000, reason: "") == .none, "our close is already out")
        #expect(state.frameReceived(text("x"), now: start) == .none)
        #expect(state.frameReceived(frame(.connectionClose, []), now: start) == .closeConnection)
    }

    @Test func aBrokenFrameClosesWithItsCodeOnlyWhenOpen() {
        var state = opened()
        #expect(state.protocolViolated(NIOWebSocketError.invalidFrameLength, maxFrameBytes: 64) == .sendClose(code: 1009, reason: "frame exceeds 64 bytes"))
        #expect(state.protocolViolated(NIOWebSocketError.fragmentedControlFrame, maxFrameBytes: 64) == .closeConnection)
        var other = opened()
        #expect(other.protocolViolated(NIOWebSocketError.fragmentedControlFrame, maxFrameBytes: 64) == .sendClose(code: 1002, reason: "invalid control frame"))
        var early = machine()
        #expect(early.protocolViolated(NIOWebSocketError.invalidFrameLength, maxFrameBytes: 64) == .closeConnection)
    }

    @Test func fragmentedInvalidTextFailsAtTheFirstBadFragment() {
        var state = opened()
        #expect(state.frameReceived(text("héllo", fin: false), now: start) == .none)
        // 0xCE starts a two-byte sequence: fine until a byte that cannot continue it.
        #expect(state.frameReceived(frame(.continuation, [0x61, 0xCE], fin: false), now: start) == .none)
        #expect(
            state.frameReceived(frame(.continuation, [0x41], fin: false), now: start)
                == .sendClose(code: 1007, reason: "text message is not valid UTF-8"))
    }

    @Test func textThatEndsInsideACodePointIsInvalid() {
        var state = opened()
        #expect(state.frameReceived(text("a", fin: false), now: start) == .none)
        #expect(state.frameReceived(frame(.continuation, [0xE2, 0x82]), now: start) == .sendClose(code: 1007, reason: "text message is not valid UTF-8"))
    }

    @Test func binaryMessagesAreNotValidatedAsText() {
        var state = opened()
        #expect(
            state.frameReceived(frame(.binary, [0xFF, 0xFE]), now: start) == .message(text: false, payload: ByteBuffer(bytes: [0xFF, 0xFE]), compressed: false))
    }

    @Test func inflatedTextIsValidatedOnceReadable() {
        var state = opened()
        #expect(
            state.messageInflated(text: false, payload: ByteBuffer(bytes: [0xC0]))
                == .message(text: false, payload: ByteBuffer(bytes: [0xC0]), compressed: false))
        #expect(
            state.messageInflated(text: true, payload: ByteBuffer(bytes: [0xC0, 0x80])) == .sendClose(code: 1007, reason: "text message is not valid UTF-8"))
    }

    @Test func sweepPingsQuietConnectionsAndClosesIdleOnes() {
        var state = opened()
        let ping = TimeAmount.seconds(30 as Int64)
        let idle = TimeAmount.seconds(75 as Int64)
        #expect(state.sweep(now: start + .seconds(10 as Int64), idleTimeout: idle, pingInterval: ping) == .none)
        #expect(state.sweep(now: start + .seconds(31 as Int64), idleTimeout: idle, pingInterval: ping) == .ping)
        #expect(state.sweep(now: start + .seconds(40 as Int64), idleTimeout: idle, pingInterval: ping) == .none, "one ping per interval")
        _ = state.frameReceived(frame(.pong, []), now: start + .seconds(50 as Int64))
        #expect(state.sweep(now: start + .seconds(100 as Int64), idleTimeout: idle, pingInterval: ping) == .ping, "traffic resets the idle clock")
        #expect(state.sweep(now: start + .seconds(126 as Int64), idleTimeout: idle, pingInterval: ping) == .sendClose(code: 1001, reason: "idle timeout"))
        #expect(state.sweep(now: start + .seconds(500 as Int64), idleTimeout: idle, pingInterval: ping) == .none)
    }

    @Test func anInBandPingWaitsWhileTheConnectionLags() {
        var state = opened()
        let ping = TimeAmount.seconds(30 as Int64)
        _ = state.writabilityChanged(false)
        #expect(state.sweep(now: start + .seconds(31 as Int64), idleTimeout: nil, pingInterval: ping, pingInBand: true) == .none)
        #expect(state.sweep(now: start + .seconds(31 as Int64), idleTimeout: nil, pingInterval: ping) == .none, "the skipped ping still counted")
        #expect(state.sweep(now: start + .seconds(1000 as Int64), idleTimeout: nil, pingInterval: ping) == .ping, "no idle timeout")
    }

    @Test func anExpiredTokenClosesTheConnectionOnce() {
        var state = ConnectionStateMachine(
            maxMessageBytes: 1000, compressed: false, backlogLimit: 100, policy: .drop, now: start, tokenExpiry: start + .seconds(60 as Int64)
        )
        _ = state.handshakeQueued(response)
        let interval = TimeAmount.seconds(30 as Int64)
        #expect(state.sweep(now: start + .seconds(61 as Int64), idleTimeout: nil, pingInterval: .hours(1)) == .tokenExpired)
        #expect(state.sweep(now: start + .seconds(91 as Int64), idleTimeout: nil, pingInterval: interval) == .none)
        var renewed = opened()
        _ = renewed.tokenRenewed(expiry: start + .seconds(10 as Int64))
        #expect(renewed.sweep(now: start + .seconds(10 as Int64), idleTimeout: nil, pingInterval: .hours(1)) == .tokenExpired)
    }

    // MARK: Reads

    @Test func readsWaitForTheCoreAndForReceivedMessages() {
        var state = opened()
        #expect(state.readRequested() == .read)
        #expect(state.messageKept() == .none)
        #expect(state.readRequested() == .hold, "a message waits to be handled")
        #expect(state.receivedHandled(sentToCore: true, pendingMessages: true) == .none, "the core is busy")
        #expect(state.awaitsCore)
        #expect(state.requestsHandled() == .none)
        #expect(state.receivedHandled(sentToCore: true, pendingMessages: false) == .none, "the core is busy again")
        #expect(state.readRequested() == .hold)
        _ = state.requestsHandled()
        #expect(state.receivedHandled(sentToCore: false, pendingMessages: false) == .read, "the held read goes on")
        #expect(state.receivedHandled(sentToCore: false, pendingMessages: false) == .none, "once")
    }

    @Test func readsWaitWhileTheSocketCannotTakeReplies() {
        var state = opened()
        _ = state.writabilityChanged(false)
        #expect(state.readRequested() == .hold)
        #expect(state.receivedHandled(sentToCore: false, pendingMessages: false) == .none, "still not writable")
        #expect(state.writabilityChanged(true) == .resume(.caughtUp(continueReplay: false), read: true))
        #expect(state.readRequested() == .read)
    }

    @Test func readsBeforeTheHandshakeAndWhileClosingFollowWritability() {
        var state = machine()
        #expect(state.writabilityChanged(false) == .markLagging)
        #expect(state.readRequested() == .hold)
        #expect(state.writabilityChanged(true) == .resume(.none, read: true))
        _ = state.handshakeQueued(response)
        _ = state.closeRequested(code: 1000, reason: "")
        #expect(state.readRequested() == .read, "the client's close must still be read")
    }

    // MARK: Replay pacing

    @Test func aPausedReplayGoesOnOnceTheConnectionCaughtUp() {
        var state = opened()
        #expect(state.replayPaused() == .continueReplay, "a connection that keeps up takes the next chunk at once")
        _ = state.writabilityChanged(false)
        _ = state.framesQueued(ByteBuffer(string: "1"), messages: 1)
        #expect(state.replayPaused() == .none)
        #expect(state.writabilityChanged(true) == generation("1"))
        #expect(state.generationWritten() == .resume(.caughtUp(continueReplay: true), read: false))
        #expect(state.replayPaused() == .continueReplay)
    }
}

/// PROTOCOL.md §11 in the backlog: one pending message per keep-latest topic, in seq order.
@Suite struct KeepLatestBacklogTests {
    func opened(limit: Int, policy: ConnectionStateMachine.SlowConsumerPolicy) -> ConnectionStateMachine {
        var state = ConnectionStateMachine(maxMessageBytes: 1000, compressed: false, backlogLimit: limit, policy: policy, now: .now())
        _ = state.handshakeQueued(ByteBuffer(string: "101"))
        return state
    }

    func drained(_ action: ConnectionStateMachine.Action) -> [String] {
        guard case .resume(.generation(let frames), _) = action else { return [] }
        return frames.map { String(buffer: $0) }
    }

    @Test func aNewerMessageReplacesThePendingOneOfItsTopic() throws {
        var state = opened(limit: 1000, policy: .disconnect)
        let a = try TopicName("prices.A")
        let b = try TopicName("prices.B")
        #expect(state.latestQueued(ByteBuffer(string: "A1"), topic: a) == .write, "an up-to-date connection writes at once")
        _ = state.writabilityChanged(false)
        #expect(state.latestQueued(ByteBuffer(string: "A2"), topic: a) == .queued(dropped: 0, conflated: 0))
        #expect(state.latestQueued(ByteBuffer(string: "B1"), topic: b) == .queued(dropped: 0, conflated: 0))
        #expect(state.framesQueued(ByteBuffer(string: "other"), messages: 1) == .queued(dropped: 0, conflated: 0))
        #expect(state.latestQueued(ByteBuffer(string: "A3"), topic: a) == .queued(dropped: 0, conflated: 1))
        #expect(state.latestQueued(ByteBuffer(string: "B2"), topic: b) == .queued(dropped: 0, conflated: 1))
        #expect(state.latestQueued(ByteBuffer(string: "A4"), topic: a) == .queued(dropped: 0, conflated: 1))
        #expect(drained(state.writabilityChanged(true)) == ["other", "B2", "A4"], "the newest of each, in the order they were published")
    }

    @Test func overflowDropsOtherTopicsBeforeLatestOnes() throws {
        var state = opened(limit: 6, policy: .drop)
        _ = state.writabilityChanged(false)
        _ = state.latestQueued(ByteBuffer(string: "AA"), topic: try TopicName("a"))
        #expect(state.framesQueued(ByteBuffer(string: "xx"), messages: 1) == .queued(dropped: 0, conflated: 0))
        #expect(state.framesQueued(ByteBuffer(string: "yyy"), messages: 1) == .queued(dropped: 1, conflated: 0), "xx goes, not AA")
        #expect(drained(state.writabilityChanged(true)) == ["AA", "yyy"])
    }
}
