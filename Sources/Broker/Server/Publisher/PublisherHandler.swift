import HeraldCore
import HeraldSettings
import HeraldWire
import NIOCore

/// One publisher on the Unix socket. It runs on the core loop, so a publish reaches the
/// broker's state without a hop; replies are written as commands are parsed and flushed
/// once per read, so pipelined commands cost one write.
///
/// PROTOCOL.md §6: a publisher whose unread replies pass `--max-pending-bytes` (the channel's
/// high water mark) is not read from until it drains, and a command left incomplete for
/// `--handshake-timeout` closes the connection; one idle between commands stays.
final class PublisherHandler: PublisherReadGate {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let core: BrokerCore
    private let settings: Settings
    private var parser: PublisherCommandParser
    private var buffer = ByteBuffer()
    private var closing = false
    /// A read NIO asked for while the replies were over the budget.
    var readHeld = false
    /// Running while a command is incomplete; restarted whenever a command completes.
    private var incompleteTimer: Scheduled<Void>?
    private(set) var context: ChannelHandlerContext?
    /// Buffered commands are being handled over several turns.
    private var continuing = false
    /// Replies behind one still awaited from the backplane (nil until it comes), in order.
    private var waiting = CircularBuffer<ByteBuffer?>()
    private var firstWaitingSlot = 0
    /// Publishes a publisher may have awaiting the backplane before it is not read from.
    static let awaitedRepliesLimit = 1024
    /// Read on only while no buffered commands wait for a later turn and the replies
    /// awaited from the backplane are under their limit (`PublisherReadGate`).
    var hasRoomForCommands: Bool { !continuing && waiting.count < Self.awaitedRepliesLimit }

    init(core: BrokerCore, settings: Settings) {
        self.core = core
        self.settings = settings
        self.parser = PublisherCommandParser(
            maxLineBytes: settings.maxLineBytes,
            maxPayloadBytes: settings.maxMessageBytes
        )
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        incompleteTimer?.cancel()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        var incoming = unwrapInboundIn(data)
        if buffer.readableBytes == 0 {
            buffer = incoming
        } else {
            buffer.writeBuffer(&incoming)
        }
        if !continuing { handleBuffered(context: context) }
    }

    /// Commands handled per turn of the loop before yielding to other connections: one
    /// read can hold thousands of pipelined commands (PROTOCOL.md §6, no connection stalls
    /// publishing for others).
    static let commandsPerTurn = 128

    private func handleBuffered(context: ChannelHandlerContext) {
        var reply = context.channel.allocator.buffer(capacity: 64)
        var handled = 0
        while handled < Self.commandsPerTurn, let command = parser.next(from: &buffer) {
            handled += 1
            switch command {
            case .publish(let topic, let payload, let retain, let binary):
                var answered: ByteBuffer?
                var slot: Int?
                core.submit(topic: topic, payload: payload, retain: retain, binary: binary) { [self] result in
                    let line =
                        switch result {
                        case .success(let result): ByteBuffer(string: "+OK \(result.seq) \(result.deliveries)\r\n")
                        case .failure(let refusal): ByteBuffer(string: "-ERR \(refusal.code) \(refusal.message)\r\n")
                        }
                    if let slot { fill(slot, with: line) } else { answered = line }
                }
                if let answered {
                    queueReply(answered, into: &reply)
                } else {
                    // Through a backplane: the answer comes later, and what follows waits behind it.
                    if reply.readableBytes > 0 { context.write(wrapOutboundOut(reply), promise: nil) }
                    reply.clear()
                    slot = firstWaitingSlot + waiting.count
                    waiting.append(nil)
                }
            case .ping where waiting.isEmpty:
                reply.writeStaticString("+PONG\r\n")
            case .ping:
                queueReply(ByteBuffer(string: "+PONG\r\n"), into: &reply)
            case .stats:
                let json = core.statsJSON()
                queueReply(ByteBuffer(string: "+STATS \(json.utf8.count)\r\n\(json)\r\n"), into: &reply)
            case .refuse(let code, let message, let fatal):
                queueReply(ByteBuffer(string: "-ERR \(code) \(message)\r\n"), into: &reply)
                if fatal {
                    closing = true
                    context.writeAndFlush(wrapOutboundOut(reply)).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
                    return
                }
            }
        }
        // Keep the unread tail small: drop consumed bytes instead of growing forever.
        buffer.discardReadBytes()
        if reply.readableBytes > 0 { context.write(wrapOutboundOut(reply), promise: nil) }
        watchIncompleteCommand(restart: handled > 0, context: context)
        guard handled == Self.commandsPerTurn else {
            if continuing {
                continuing = false
                context.flush()
                resumeReading()
            }
            return
        }
        // More may be buffered: finish them on a later turn, reading nothing new meanwhile.
        continuing = true
        context.flush()
        context.eventLoop.assumeIsolated().execute { [self] in
            guard !closing, let context = self.context else { return }
            handleBuffered(context: context)
        }
    }

    /// Replies go out in command order: behind an answer still awaited, they wait.
    private func queueReply(_ line: ByteBuffer, into reply: inout ByteBuffer) {
        if waiting.isEmpty {
            reply.writeImmutableBuffer(line)
        } else {
            waiting.append(line)
        }
    }

    private func fill(_ slot: Int, with line: ByteBuffer) {
        waiting[offset: slot - firstWaitingSlot] = line
        guard let context else { return }
        var wrote = false
        while let first = waiting.first, let line = first {
            waiting.removeFirst()
            firstWaitingSlot += 1
            context.write(wrapOutboundOut(line), promise: nil)
            wrote = true
        }
        if wrote { context.flush() }
        if waiting.count < Self.awaitedRepliesLimit { resumeReading() }
    }

    private func watchIncompleteCommand(restart: Bool, context: ChannelHandlerContext) {
        if parser.isBetweenCommands(buffered: buffer.readableBytes) {
            incompleteTimer?.cancel()
            incompleteTimer = nil
            return
        }
        guard restart || incompleteTimer == nil else { return }
        incompleteTimer?.cancel()
        incompleteTimer = context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(settings.handshakeTimeoutSeconds)) {
            context.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
