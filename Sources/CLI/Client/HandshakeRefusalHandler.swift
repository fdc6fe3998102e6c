import NIOCore
import NIOHTTP1

/// Reads the answer to an upgrade the server refused, so that the error can say what it
/// said: its status and the first line of its text body (herald explains a refusal there).
final class HandshakeRefusalHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart

    private static let bodyLimit = 200

    let refusal: EventLoopPromise<WebSocketClientError>
    private var status: HTTPResponseStatus?
    private var body = ByteBuffer()
    private var finished = false

    init(eventLoop: any EventLoop) {
        refusal = eventLoop.makePromise()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .head(let head):
            status = head.status
        case .body(var part):
            if body.readableBytes < Self.bodyLimit, let slice = part.readSlice(length: min(part.readableBytes, Self.bodyLimit - body.readableBytes)) {
                var slice = slice
                body.writeBuffer(&slice)
            }
        case .end:
            finish(context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(context: context)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        finish(context: context)
    }

    private func finish(context: ChannelHandlerContext) {
        guard !finished else { return }
        finished = true
        let text = String(buffer: body).split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        if let status {
            refusal.succeed(.refused(status: status, body: text))
        } else {
            refusal.succeed(.invalidHandshake("the broker's answer ended before its status line"))
        }
        context.close(promise: nil)
    }
}
