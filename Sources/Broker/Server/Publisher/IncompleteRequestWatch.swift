import NIOCore

/// PROTOCOL.md §6 for HTTP on the Unix socket: a request left incomplete (its head included,
/// which the HTTP decoder holds without a word) for `--handshake-timeout` closes the
/// connection, while one idle between requests stays. It sits before the decoder: bytes
/// arm the timer, the end of a request disarms it.
final class IncompleteRequestWatch: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let timeout: TimeAmount
    private var timer: Scheduled<Void>?
    private var context: ChannelHandlerContext?

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if timer == nil {
            timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { context.close(promise: nil) }
        }
        context.fireChannelRead(data)
    }

    /// A whole request arrived: what follows is either another request, which arms the
    /// timer again as its bytes come, or nothing.
    func requestCompleted() {
        timer?.cancel()
        timer = nil
    }
}
