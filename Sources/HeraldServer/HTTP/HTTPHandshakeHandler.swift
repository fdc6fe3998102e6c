import HeraldCore
import HeraldWire
import Deflate
import HeraldAuth
import Logging
import NIOCore
import NIOHTTP1
import NIOWebSocket
import Topics

/// Answers the HTTP request of a new connection: health checks, refusals with the status
/// of CONTRACT §4, and the WebSocket upgrade, after which it replaces itself and the HTTP
/// decoder with the WebSocket pipeline.
final class HTTPHandshakeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = ByteBuffer

    private let listener: ListenerContext
    private let tooManyHandshakes: Bool
    /// Still counted in the listener's `handshakes`.
    private var counted = true
    private var decision: HandshakeDecision?
    private var timeout: Scheduled<Void>?
    private var answered = false
    /// The verified token of an upgrade that passed the access checks.
    private var token: BoxedGrants?

    private var logger: Logger { listener.logger }

    init(listener: ListenerContext, tooManyHandshakes: Bool) {
        self.listener = listener
        self.tooManyHandshakes = tooManyHandshakes
    }

    func handlerAdded(context: ChannelHandlerContext) {
        timeout = context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(listener.settings.handshakeTimeoutSeconds)) {
            context.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timeout?.cancel()
        handshakeEnded()
    }

    private func handshakeEnded() {
        guard counted else { return }
        counted = false
        listener.handshakes.wrappingDecrement(ordering: .relaxed)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !answered else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            if tooManyHandshakes {
                respond(.serviceUnavailable, message: "too many connections in their handshake", context: context)
                return
            }
            let decision = HandshakeDecision.decide(method: head.method, uri: head.uri, headers: head.headers, negotiator: listener.negotiator)
            switch decision {
            case .health:
                let body = head.method == .HEAD ? "" : "ok"
                answer(HTTPResponse.make(.ok, body: body, allocator: context.channel.allocator), context: context)
            case .reject(let status, let headers, let message):
                respond(status, headers: headers, message: message, context: context)
            case .upgrade where listener.openWebSockets >= listener.connectionLimit:
                // /healthz still answers 200 when the broker is merely full.
                respond(.serviceUnavailable, message: "too many connections", context: context)
            case .upgrade(let route, _, _):
                let policy = listener.core.policy.current
                switch HandshakeAccess.decide(route: route, uri: head.uri, headers: head.headers, policy: policy, now: WallClock.now()) {
                case .allow(let grants):
                    self.token = grants.map(BoxedGrants.init)
                    self.decision = decision
                case .refuse(let status, let headers, let reason, let isAuthFailure):
                    if isAuthFailure {
                        listener.services(for: context.eventLoop).outbox.counters.authFailures.wrappingIncrement(ordering: .relaxed)
                    }
                    respond(status, headers: headers, message: reason, context: context)
                }
            }
        case .body:
            break
        case .end:
            if case .upgrade(let route, let accept, let deflate) = decision {
                upgrade(route: route, accept: accept, deflate: deflate, context: context)
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard !answered else { return }
        respond(.badRequest, message: "malformed HTTP request", context: context)
    }

    private func respond(_ status: HTTPResponseStatus, headers: [(String, String)] = [], message: String, context: ChannelHandlerContext) {
        logger.info("handshake refused", metadata: [
            "peer": "\(context.remoteAddress?.description ?? "?")", "status": "\(status.code)", "reason": "\(message)",
        ])
        answer(HTTPResponse.make(status, headers: headers, body: message + "\n", allocator: context.channel.allocator), context: context)
    }

    private func answer(_ response: ByteBuffer, context: ChannelHandlerContext) {
        answered = true
        handshakeEnded()
        context.writeAndFlush(wrapOutboundOut(response)).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }

    private func upgrade(route: HandshakeDecision.Route, accept: String, deflate: DeflateParameters?, context: ChannelHandlerContext) {
        answered = true
        handshakeEnded()
        let services = listener.services(for: context.eventLoop)
        let form = WireForm(
            mode: route == .json ? .json : .raw,
            deflateWindowBits: UInt8(deflate?.serverMaxWindowBits ?? 0)
        )
        let subscriber = Subscriber(wireForm: form, outbox: services.outbox)
        subscriber.token = token
        let rawPattern: TopicPattern? = if case .raw(let pattern) = route { pattern } else { nil }
        let response = HTTPResponse.switchingProtocols(accept: accept, extensions: deflate?.responseHeaderValue, allocator: context.channel.allocator)
        let pipeline = context.pipeline.syncOperations
        do {
            try context.channel.syncOptions?.setOption(.recvAllocator, value: HeraldServer.upgradedReceiveAllocator)
            try pipeline.addHandlers([
                ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: listener.settings.maxFrameBytes)),
                WebSocketConnectionHandler(
                    subscriber: subscriber, core: listener.core, services: services, route: route,
                    compressed: deflate != nil, token: token
                ),
            ])
            // Removing the HTTP decoder last forwards any bytes it holds to the frame decoder.
            pipeline.removeHandler(context: context, promise: nil)
            let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            pipeline.removeHandler(decoder, promise: nil)
        } catch {
            context.close(promise: nil)
            return
        }
        let core = listener.core
        core.loop.execute { core.attach(subscriber, handshake: response, rawPattern: rawPattern) }
    }
}
