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
/// of PROTOCOL.md §4, and the WebSocket upgrade, after which it replaces itself and the HTTP
/// decoder with the WebSocket pipeline.
final class HTTPHandshakeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = ByteBuffer

    private let listener: ListenerContext
    /// Still counted in the listener's `handshakes`.
    private var counted = true
    private var decision: HandshakeDecision?
    private var timeout: Scheduled<Void>?
    private var answered = false
    /// The verified token of an upgrade that passed the access checks.
    private var token: BoxedGrants?
    /// A `POST /publish/{topic}` that passed the checks and is reading its body.
    private var publishRequest: PublishHTTPRequest?
    private var publishIsBinary = false

    private var logger: Logger { listener.logger }

    init(listener: ListenerContext) {
        self.listener = listener
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
            let decision = HandshakeDecision.decide(method: head.method, uri: head.uri, headers: head.headers, negotiator: listener.negotiator)
            switch decision {
            case .health:
                let body = head.method == .HEAD ? "" : "ok"
                answer(HTTPResponse.make(.ok, body: body, allocator: context.channel.allocator), context: context)
            case .metrics:
                serveMetrics(context: context)
            case .publish:
                startPublish(head, context: context)
            case .sse(let patterns):
                startEventStream(head, patterns: patterns, context: context)
            case .reject(let status, let headers, let message):
                respond(status, headers: headers, message: message, context: context)
            case .upgrade where listener.openSubscribers >= listener.connectionLimit:
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
        case .body(var chunk):
            publishRequest?.receive(&chunk)
        case .end:
            if case .upgrade(let route, let accept, let deflate) = decision {
                upgrade(route: route, accept: accept, deflate: deflate, context: context)
            } else if let publishRequest {
                finishPublish(publishRequest, context: context)
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard !answered else { return }
        respond(.badRequest, message: "malformed HTTP request", context: context)
    }

    // MARK: Server-sent events

    /// PROTOCOL.md §12: the limits and access checks of a WebSocket handshake, then the
    /// stream's headers and, as it drains, retained messages or what `Last-Event-ID` missed.
    private func startEventStream(_ head: HTTPRequestHead, patterns: [TopicPattern], context: ChannelHandlerContext) {
        guard listener.openSubscribers < listener.connectionLimit else {
            respond(.serviceUnavailable, message: "too many connections", context: context)
            return
        }
        // A stream's patterns are its subscriptions: the same cap as a WebSocket's.
        let limit = listener.settings.maxSubscriptionsPerConnection
        guard patterns.count <= limit else {
            respond(.badRequest, message: "at most \(limit) topics per stream (--max-subscriptions)", context: context)
            return
        }
        let resume: (epoch: String, seq: UInt64)?
        switch EventStreamResume.parse(header: head.headers["last-event-id"].first, uri: head.uri) {
        case .success(let parsed): resume = parsed
        case .failure:
            respond(.badRequest, message: "Last-Event-ID must be <epoch>:<seq>", context: context)
            return
        }
        let policy = listener.core.policy.current
        let grants: Grants?
        switch HandshakeAccess.decide(patterns: patterns, uri: head.uri, headers: head.headers, policy: policy, now: WallClock.now()) {
        case .allow(let allowed):
            grants = allowed
        case .refuse(let status, let headers, let reason, let isAuthFailure):
            if isAuthFailure { countAuthFailure(context: context) }
            respond(status, headers: headers, message: reason, context: context)
            return
        }
        answered = true
        handshakeEnded()
        countStatus(200, context: context)
        let token = grants.map(BoxedGrants.init)
        let services = listener.services(for: context.eventLoop)
        let subscriber = Subscriber(wireForm: WireForm(mode: .sse, deflateWindowBits: 0), outbox: services.outbox)
        subscriber.token = token
        var response = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nX-Accel-Buffering: no\r\n"
        if let origin = head.headers["origin"].first, !origin.contains("\r"), !origin.contains("\n") {
            response += "Access-Control-Allow-Origin: \(origin)\r\nVary: Origin\r\n"
        }
        response += "\r\nretry: 2000\n\n"
        do {
            try leaveHTTP(for: [EventStreamHandler(subscriber: subscriber, core: listener.core, services: services, token: token)], context: context)
        } catch {
            context.close(promise: nil)
            return
        }
        let core = listener.core
        let bytes = ByteBuffer(string: response)
        core.loop.execute { core.attachStream(subscriber, response: bytes, patterns: patterns, resume: resume) }
    }

    /// Adds the connection's own handlers and removes this one and the HTTP decoder, the
    /// decoder last, so that any bytes it holds go on to them.
    private func leaveHTTP(for handlers: [any ChannelHandler], context: ChannelHandlerContext) throws {
        let pipeline = context.pipeline.syncOperations
        try pipeline.addHandlers(handlers)
        pipeline.removeHandler(context: context, promise: nil)
        let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
        pipeline.removeHandler(decoder, promise: nil)
    }

    // MARK: Plain HTTP on the listener

    private func serveMetrics(context: ChannelHandlerContext) {
        guard listener.settings.metrics else {
            respond(.notFound, message: "metrics are served here only with --metrics (always on the Unix socket)", context: context)
            return
        }
        answered = true
        handshakeEnded()
        let metrics = listener.metrics
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        listener.core.loop.flatSubmit { metrics.render() }.hop(to: context.eventLoop).whenComplete { result in
            let (handler, context) = loopBound.value
            let answer: HTTPAnswer =
                switch result {
                case .success(let text): .metrics(text)
                case .failure: .error(.serviceUnavailable, "unavailable", "the broker is stopping")
                }
            handler.answer(answer.closingResponse(), context: context)
        }
    }

    /// PROTOCOL.md §9: only with access control on, for a token whose `publish` claim allows
    /// the topic; the origin check of §7 applies first, as for a handshake.
    private func startPublish(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let policy = listener.core.policy.current
        guard let keys = policy.keys else {
            respond(.notFound, message: "publishing over HTTP here needs access control (--auth-secret-file)", context: context)
            return
        }
        if !policy.origins.isEmpty, let origin = head.headers["origin"].first, !policy.origins.allows(origin: origin) {
            respond(.forbidden, message: "origin '\(origin.prefix(200))' is not allowed", context: context)
            return
        }
        let request = PublishHTTPRequest(method: head.method, uri: head.uri, maxBodyBytes: listener.settings.maxMessageBytes)
        guard case .publish(let topic, _) = request.route else {
            if case .refuse(let refusal) = request.route { refuse(refusal, reason: "bad publish request", context: context) }
            return
        }
        let challenge = [("WWW-Authenticate", "Bearer")]
        guard let token = HandshakeAccess.bearerToken(head.headers) ?? HandshakeAccess.queryToken(head.uri) else {
            countAuthFailure(context: context)
            refuse(.error(.unauthorized, "unauthorized", "a token is required", headers: challenge), reason: "publish without a token", context: context)
            return
        }
        switch TokenVerifier.verify(token: token, keys: keys, now: WallClock.now()) {
        case .failure(let error):
            countAuthFailure(context: context)
            refuse(.error(.unauthorized, "unauthorized", "invalid token: \(error)", headers: challenge), reason: "invalid token: \(error)", context: context)
        case .success(let grants) where !grants.mayPublish(to: topic):
            let holder = grants.subject.map { " of '\($0.prefix(64))'" } ?? ""
            refuse(
                .error(.forbidden, "forbidden", "the token\(holder) does not allow publishing to '\(topic)'"),
                reason: "publish to '\(topic)' not granted", context: context)
        case .success:
            publishRequest = request
            publishIsBinary = PublishHTTPRequest.marksBinary(head.headers)
        }
    }

    private func finishPublish(_ request: PublishHTTPRequest, context: ChannelHandlerContext) {
        publishRequest = nil
        guard case .publish(let topic, let retain) = request.route else { return }
        guard let payload = request.body else {
            refuse(.error(.payloadTooLarge, "too_large", "the body is over --max-message-bytes"), reason: "publish too large", context: context)
            return
        }
        answered = true
        handshakeEnded()
        let core = listener.core
        let binary = publishIsBinary
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let published = core.loop.makePromise(of: Result<BrokerCore.PublishResult, BrokerCore.PublishRefusal>.self)
        core.loop.execute {
            core.submit(topic: topic, payload: payload, retain: retain, binary: binary) { published.succeed($0) }
        }
        published.futureResult.hop(to: context.eventLoop).whenComplete { result in
            let (handler, context) = loopBound.value
            let answer: HTTPAnswer =
                switch result {
                case .success(let outcome): .published(outcome)
                case .failure: .error(.serviceUnavailable, "shutting_down", "the broker is stopping")
                }
            handler.answer(answer.closingResponse(), context: context)
        }
    }

    private func countAuthFailure(context: ChannelHandlerContext) {
        listener.services(for: context.eventLoop).outbox.counters.authFailures.wrappingIncrement(ordering: .relaxed)
    }

    private func refuse(_ refusal: HTTPAnswer, reason: String, context: ChannelHandlerContext) {
        logger.info(
            "request refused",
            metadata: [
                "peer": "\(context.remoteAddress?.description ?? "?")", "status": "\(refusal.status.code)", "reason": "\(reason)",
            ])
        answer(refusal.closingResponse(), context: context)
    }

    private func countStatus(_ status: Int, context: ChannelHandlerContext) {
        listener.services(for: context.eventLoop).outbox.handshakeStatuses[status, default: 0] += 1
    }

    private func respond(_ status: HTTPResponseStatus, headers: [(String, String)] = [], message: String, context: ChannelHandlerContext) {
        countStatus(Int(status.code), context: context)
        logger.info(
            "handshake refused",
            metadata: [
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
        countStatus(101, context: context)
        let response = HTTPResponse.switchingProtocols(accept: accept, extensions: deflate?.responseHeaderValue, allocator: context.channel.allocator)
        do {
            try context.channel.syncOptions?.setOption(.recvAllocator, value: HeraldServer.upgradedReceiveAllocator)
            try context.channel.syncOptions?.setOption(.maxMessagesPerRead, value: HeraldServer.upgradedReadsPerTurn)
            let connection = WebSocketConnectionHandler(
                subscriber: subscriber, core: listener.core, services: services, route: route, compressed: deflate != nil, token: token
            )
            try leaveHTTP(for: [connection], context: context)
        } catch {
            context.close(promise: nil)
            return
        }
        let core = listener.core
        core.loop.execute { core.attach(subscriber, handshake: response, rawPattern: rawPattern) }
    }
}
