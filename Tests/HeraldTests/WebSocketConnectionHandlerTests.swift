@testable import HeraldCore
@testable import HeraldServer
import HeraldSettings
import Logging
import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing
import Topics

/// `WebSocketConnectionHandler` on an `EmbeddedChannel`, with its core on the channel's own
/// loop: the client's bytes go in with `writeInbound`, what the handler writes comes out of
/// `readOutbound`, and `loop.run()` stands for the end of a loop turn. No socket is opened.
@Suite struct WebSocketConnectionHandlerTests {
    let channel = EmbeddedChannel()
    var loop: EmbeddedEventLoop { channel.embeddedEventLoop }
    let core: BrokerCore
    let subscriber: Subscriber

    /// A raw-mode connection subscribed to `t.*` when `raw`, else a JSON one, past its 101.
    init(raw: Bool = false) throws {
        let outbox = LoopOutbox(loop: channel.embeddedEventLoop)
        let settings = Settings()
        let services = LoopServices(outbox: outbox, settings: settings, sweepInterval: .seconds(1 as Int64), logger: Logger(label: "test"))
        outbox.afterBatch = { services.flushBatch() }
        core = BrokerCore(loop: channel.embeddedEventLoop, outboxes: [outbox], configuration: BrokerCore.Configuration(settings))
        let pattern = try TopicPattern("t.*")
        subscriber = Subscriber(wireForm: WireForm(mode: raw ? .raw : .json, deflateWindowBits: 0), outbox: outbox)
        let handler = WebSocketConnectionHandler(
            subscriber: subscriber, core: core, services: services, route: raw ? .raw(pattern) : .json, compressed: false, token: nil
        )
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        core.attach(subscriber, handshake: ByteBuffer(string: "HTTP/1.1 101\r\n\r\n"), rawPattern: raw ? pattern : nil)
        loop.run()
        #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "HTTP/1.1 101\r\n\r\n"))
    }

    // MARK: The client's side of the wire

    /// A masked client frame (payloads up to 125 bytes).
    func send(_ opcode: WebSocketOpcode, _ payload: [UInt8], fin: Bool = true) throws {
        let key: [UInt8] = [1, 2, 3, 4]
        var bytes = ByteBuffer(bytes: [(fin ? 0x80 : 0) | UInt8(webSocketOpcode: opcode), 0x80 | UInt8(payload.count)] + key)
        bytes.writeBytes(payload.enumerated().map { $0.element ^ key[$0.offset % 4] })
        try channel.writeInbound(bytes)
        loop.run()
    }

    func send(text: String, fin: Bool = true) throws { try send(.text, Array(text.utf8), fin: fin) }

    /// Every frame the handler wrote so far, unmasked as servers send them.
    func received() throws -> [(opcode: WebSocketOpcode, payload: ByteBuffer)] {
        var frames: [(WebSocketOpcode, ByteBuffer)] = []
        while var bytes = try channel.readOutbound(as: ByteBuffer.self) {
            while let first = bytes.readInteger(as: UInt8.self), let second = bytes.readInteger(as: UInt8.self) {
                var length = Int(second & 0x7F)
                if length == 126 { length = Int(bytes.readInteger(as: UInt16.self)!) }
                frames.append((WebSocketOpcode(encodedWebSocketOpcode: first & 0x0F)!, bytes.readSlice(length: length)!))
            }
        }
        return frames
    }

    func texts() throws -> [String] {
        try received().filter { $0.opcode == .text }.map { String(buffer: $0.payload) }
    }

    func closeCode(_ frame: (opcode: WebSocketOpcode, payload: ByteBuffer)?) -> UInt16? {
        guard let frame, frame.opcode == .connectionClose else { return nil }
        return frame.payload.getInteger(at: frame.payload.readerIndex, as: UInt16.self)
    }

    // MARK: Tests

    @Test func aPingGetsItsPong() throws {
        try send(.ping, Array("hi".utf8))
        let frames = try received()
        #expect(frames.count == 1)
        #expect(frames.first?.opcode == .pong)
        #expect(frames.first.map { String(buffer: $0.payload) } == "hi")
    }

    @Test func aFragmentedMessageReachesTheCoreAsOneRequest() throws {
        try send(text: #"{"op":"subscribe","#, fin: false)
        try send(.continuation, Array(#""topic":"a.b","id":7}"#.utf8))
        let replies = try texts()
        #expect(replies.count == 1)
        #expect(replies.first?.hasPrefix(#"{"op":"ok","id":7"#) == true, "\(replies)")
        #expect(subscriber.patterns.keys.contains(try TopicPattern("a.b")))
    }

    @Test func theClientsCloseIsEchoedAndEndsTheConnection() throws {
        try send(.connectionClose, [0x03, 0xE8])
        let frames = try received()
        #expect(frames.count == 1)
        #expect(closeCode(frames.first) == 1000)
        #expect(!channel.isActive)
    }

    @Test func aBrokenFrameGets1002() throws {
        try send(.ping, [], fin: false)  // a fragmented control frame
        let frames = try received()
        #expect(closeCode(frames.last) == 1002)
    }

    @Test func aBadClosePayloadGets1002() throws {
        try send(.connectionClose, [0x03])
        #expect(closeCode(try received().last) == 1002)
        try send(.connectionClose, [])
        #expect(!channel.isActive, "close frames went both ways")
    }

    @Test func aLaggingConnectionDrainsItsBacklogInOrderOnceWritable() throws {
        let fixture = try WebSocketConnectionHandlerTests(raw: true)
        fixture.core.publish("t.a", "1", on: fixture.loop)
        #expect(try fixture.texts() == ["1"])
        fixture.channel.isWritable = false
        fixture.channel.pipeline.fireChannelWritabilityChanged()
        let lagging = fixture.subscriber.lagging.load(ordering: .relaxed)
        #expect(lagging)
        for payload in ["2", "3", "4"] { fixture.core.publish("t.a", payload, on: fixture.loop) }
        #expect(try fixture.texts().isEmpty, "nothing is written while the channel cannot take it")
        fixture.channel.isWritable = true
        fixture.channel.pipeline.fireChannelWritabilityChanged()
        fixture.loop.run()
        #expect(try fixture.texts() == ["2", "3", "4"])
        let caughtUp = !fixture.subscriber.lagging.load(ordering: .relaxed)
        #expect(caughtUp)
        fixture.core.publish("t.a", "5", on: fixture.loop)
        #expect(try fixture.texts() == ["5"])
    }

    @Test func readsWaitWhileTheChannelCannotTakeReplies() throws {
        channel.isWritable = false
        channel.pipeline.fireChannelWritabilityChanged()
        let reads = ReadCounter()
        try channel.pipeline.syncOperations.addHandler(reads, position: .first)
        channel.read()
        #expect(reads.count == 0)
        channel.isWritable = true
        channel.pipeline.fireChannelWritabilityChanged()
        #expect(reads.count == 1, "the held read goes on")
        channel.read()
        #expect(reads.count == 2)
    }
}

/// Counts the reads that reach the head of the pipeline.
private final class ReadCounter: ChannelOutboundHandler {
    typealias OutboundIn = NIOAny
    var count = 0

    func read(context: ChannelHandlerContext) {
        count += 1
        context.read()
    }
}
