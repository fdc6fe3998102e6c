import Deflate
import HeraldWire
import NIOCore
import NIOWebSocket

/// The client's end of an upgraded connection, behind NIO's frame decoder and encoder:
/// joins fragments, inflates, answers pings and the close handshake, masks what it sends,
/// and hands whole messages to its `MessageInbox`.
final class WebSocketClientHandler: ChannelDuplexHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundIn = WebSocketMessage
    typealias OutboundOut = WebSocketFrame

    private var assembler: MessageAssembler
    private let decompressor: MessageDecompressor?
    private let inbox: MessageInbox
    /// Kept to resume socket reads when the reader catches up, which happens outside any
    /// handler callback.
    private var context: ChannelHandlerContext?
    private var readHeld = false
    private var closeSent = false
    private(set) var closeStatus: WebSocketCloseStatus?

    init(maxMessageBytes: Int, deflate: DeflateAgreement?, eventLoop: any EventLoop) throws {
        assembler = MessageAssembler(maxMessageBytes: maxMessageBytes, compressionNegotiated: deflate != nil, from: .server)
        // A 15-bit window inflates whatever window the server compresses with.
        decompressor = try deflate.map { try MessageDecompressor(windowBits: 15, noContextTakeover: $0.serverNoContextTakeover) }
        inbox = MessageInbox(eventLoop: eventLoop)
    }

    /// Called on the channel's loop, by `WebSocketClient.receive`.
    func nextMessage(timeout: TimeAmount?) -> EventLoopFuture<WebSocketMessage?> {
        let next = inbox.next(timeout: timeout)
        if readHeld, !inbox.isFull, let context {
            readHeld = false
            context.read()
        }
        return next
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        inbox.finish(.failure(WebSocketClientError.connectionLost))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch assembler.receive(Self.unwrapInboundIn(data)) {
        case .none:
            break
        case .message(let text, let payload, let compressed):
            deliver(WebSocketMessage(text ? .text : .binary, payload), compressed: compressed, context: context)
        case .ping(let payload):
            guard !closeSent else { return }
            context.writeAndFlush(Self.wrapOutboundOut(Self.frame(.pong, payload)), promise: nil)
        case .close(let code, let reason):
            let status = WebSocketCloseStatus(code: code, reason: reason)
            closeStatus = status
            inbox.finish(.success(()))
            // RFC 6455 §5.5.1: echo the status code; the server closes TCP first, but a
            // client that has nothing more to say need not wait for it.
            sendClose(code: status.code, reason: "", context: context)
            context.close(promise: nil)
        case .fail(let code, let reason):
            fail(code: code, reason: reason, context: context)
        }
    }

    private func deliver(_ message: WebSocketMessage, compressed: Bool, context: ChannelHandlerContext) {
        var message = message
        if compressed, let decompressor {
            var inflated = context.channel.allocator.buffer(capacity: min(message.payload.readableBytes * 4, assembler.maxMessageBytes))
            do {
                try decompressor.decompress(message.payload, limit: assembler.maxMessageBytes, into: &inflated)
            } catch DeflateError.messageTooLarge {
                return fail(code: CloseCode.tooBig, reason: "message inflates past \(assembler.maxMessageBytes) bytes", context: context)
            } catch {
                return fail(code: CloseCode.protocolError, reason: "compressed message does not inflate", context: context)
            }
            message.payload = inflated
            // Uncompressed text was checked frame by frame; inflated text is readable only now.
            if message.opcode == .text, !UTF8Validation.isValid(message.payload) {
                return fail(code: CloseCode.invalidData, reason: "text message is not valid UTF-8", context: context)
            }
        }
        inbox.deliver(message)
    }

    private func fail(code: UInt16, reason: String, context: ChannelHandlerContext) {
        inbox.finish(.failure(WebSocketClientError.protocolViolation(code: code, reason: reason)))
        sendClose(code: code, reason: reason, context: context)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        inbox.finish(.failure(WebSocketClientError.connectionLost))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? NIOWebSocketError {
            // NIO's WebSocketProtocolErrorHandler, in front of this one, has sent the close frame.
            closeSent = true
            let tooBig = error == .invalidFrameLength
            let code = tooBig ? CloseCode.tooBig : CloseCode.protocolError
            inbox.finish(.failure(WebSocketClientError.protocolViolation(code: code, reason: "\(error)")))
        } else {
            inbox.finish(.failure(error))
        }
        context.close(promise: nil)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let message = Self.unwrapOutboundIn(data)
        context.write(Self.wrapOutboundOut(Self.frame(message.opcode, message.payload)), promise: promise)
    }

    /// A reader that is behind stops the socket reads, so that the broker sees a slow
    /// consumer instead of this process buffering without bound.
    func read(context: ChannelHandlerContext) {
        if inbox.isFull {
            readHeld = true
        } else {
            context.read()
        }
    }

    /// However the channel is closed from this side, the broker hears a close frame first
    /// and logs a clean close rather than a lost connection.
    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if mode == .all, context.channel.isActive { sendClose(code: CloseCode.normal, reason: "", context: context) }
        context.close(mode: mode, promise: promise)
    }

    private func sendClose(code: UInt16?, reason: String, context: ChannelHandlerContext) {
        guard !closeSent else { return }
        closeSent = true
        var payload = context.channel.allocator.buffer(capacity: 2 + reason.utf8.count)
        if let code {
            payload.writeInteger(code)
            payload.writeString(String(reason.utf8.prefix(123)) ?? "")
        }
        context.writeAndFlush(Self.wrapOutboundOut(Self.frame(.connectionClose, payload)), promise: nil)
    }

    /// RFC 6455 §5.3: every client frame is masked with a fresh key; the encoder applies it.
    private static func frame(_ opcode: WebSocketOpcode, _ payload: ByteBuffer) -> WebSocketFrame {
        WebSocketFrame(fin: true, opcode: opcode, maskKey: .random(), data: payload)
    }
}
