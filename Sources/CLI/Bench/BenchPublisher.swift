import HeraldClient
import HeraldCommandLine
import HeraldWire
import NIOCore

/// Publishes the bench's messages through the Unix socket, with at most `window` in flight,
/// and optionally paced to `rate` messages per second. In flight means, by default, not yet
/// received by every subscriber: a price feed's ticks come one after another, and a broker
/// that only had to acknowledge them would see batches no feed gives it. With
/// `--window-counts publishes` it means commands awaiting their `+OK`. Each payload starts
/// with `T` and the send time in hex, for the subscribers' latency samples.
final class BenchPublisher: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// What to publish and how fast: the bench's options.
    struct Plan {
        var topic: String
        var size: Int
        var total: Int
        var window: Int
        var windowCounts: WindowCount
        var rate: Int
    }

    enum WindowCount: String, CaseIterable, ArgumentValue {
        case deliveries, publishes
    }

    private let plan: Plan
    private let state: BenchState
    private let finished: EventLoopPromise<Int>
    private var sent = 0
    private var acknowledged = 0
    private var deliveries = 0
    private var replies = ByteBuffer()
    private var pacer: Scheduled<Void>?
    private var allowance = 0.0
    private let padding: [UInt8]

    init(plan: Plan, state: BenchState, finished: EventLoopPromise<Int>) {
        var plan = plan
        plan.size = max(plan.size, 17)
        plan.window = max(plan.window, 1)
        self.plan = plan
        self.state = state
        self.finished = finished
        self.padding = Self.tickLikePadding(count: plan.size - 17)
    }

    /// Filler that compresses about as well as a JSON price tick does, so that compressed
    /// runs measure realistic work and wire sizes rather than a run of one letter.
    static func tickLikePadding(count: Int) -> [UInt8] {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var text = Array(#","sym":"AAPL","bid":189.2,"ask":189.3,"vol":,"venue":"XNAS""#.utf8)
        let digits = Array("0123456789".utf8)
        while text.count < count {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            text.append(contentsOf: [UInt8(ascii: ","), UInt8(ascii: "\"")])
            let letters = Array("abcdefghij".utf8)
            for shift in [50, 54, 58] { text.append(letters[Int(state >> UInt64(shift)) % 10]) }
            text.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
            for shift in stride(from: 8, to: 48, by: 8) { text.append(digits[Int(state >> UInt64(shift)) % 10]) }
        }
        return Array(text.prefix(count))
    }

    func channelActive(context: ChannelHandlerContext) {
        if plan.windowCounts == .deliveries {
            state.onCompleted = { [self] in sendAllowed(context: context) }
        }
        if plan.rate > 0 {
            pace(context: context, started: .now(), tick: 0)
        } else {
            sendAllowed(context: context)
        }
    }

    /// Every millisecond the allowance grows by rate/1000, against a fixed start so that
    /// late timers do not slow the rate down.
    private func pace(context: ChannelHandlerContext, started: NIODeadline, tick: Int64) {
        allowance = Double(plan.rate) * Double(tick) / 1000 - Double(sent)
        sendAllowed(context: context)
        guard sent < plan.total else { return }
        pacer = context.eventLoop.assumeIsolated().scheduleTask(deadline: started + .milliseconds(tick + 1)) { [self] in
            pace(context: context, started: started, tick: tick + 1)
        }
    }

    private func sendAllowed(context: ChannelHandlerContext) {
        var batch = context.channel.allocator.buffer(capacity: 4096)
        while sent < plan.total && sent - (plan.windowCounts == .deliveries ? state.completed : acknowledged) < plan.window
            && (plan.rate == 0 || allowance >= 1)
        {
            if plan.rate > 0 { allowance -= 1 }
            let stamp = String(UInt64(NIODeadline.now().uptimeNanoseconds), radix: 16)
            batch.writeString("PUB \(plan.topic) \(plan.size)\r\nT")
            batch.writeString(String(repeating: "0", count: 16 - stamp.utf8.count) + stamp)
            batch.writeBytes(padding)
            batch.writeStaticString("\r\n")
            sent += 1
        }
        if batch.readableBytes > 0 { context.writeAndFlush(wrapOutboundOut(batch), promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        replies.writeBuffer(&incoming)
        while let newline = replies.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
            let line = replies.readString(length: newline - replies.readerIndex + 1) ?? ""
            guard line.hasPrefix("+OK ") else {
                finished.fail(UnixSocket.Failure(description: "the broker refused a publish: \(line.trimmingSpaces)"))
                context.close(promise: nil)
                return
            }
            deliveries += Int(line.split(separator: " ").last?.filter(\.isNumber) ?? "") ?? 0
            acknowledged += 1
        }
        replies.discardReadBytes()
        if acknowledged == plan.total {
            pacer?.cancel()
            finished.succeed(deliveries)
        } else {
            sendAllowed(context: context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finished.fail(error)
        context.close(promise: nil)
    }
}
