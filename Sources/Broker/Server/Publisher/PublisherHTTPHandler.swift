import HeraldCore
import HeraldSettings
import HeraldWire
import NIOCore
import NIOHTTP1

/// HTTP/1.1 on the Unix socket (PROTOCOL.md §9): `POST /publish/{topic}`, `GET /stats`,
/// `/healthz` and `/metrics`, with keep-alive and pipelining (NIO's pipelining handler keeps
/// the answers in order). It runs on the core loop beside the line protocol, with the same
/// budget: it is not read from while its answers are unread or the core is backed up.
final class PublisherHTTPHandler: PublisherReadGate {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    let core: BrokerCore
    private let settings: Settings
    private let metrics: MetricsEndpoint
    private var request: PublishHTTPRequest?
    private var head: HTTPRequestHead?
    var readHeld = false
    private let watch: IncompleteRequestWatch
    private(set) var context: ChannelHandlerContext?

    init(core: BrokerCore, settings: Settings, metrics: MetricsEndpoint, watch: IncompleteRequestWatch) {
        self.core = core
        self.settings = settings
        self.metrics = metrics
        self.watch = watch
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            let request = PublishHTTPRequest(method: head.method, uri: head.uri, maxBodyBytes: settings.maxMessageBytes)
            self.request = request
            answerExpectation(of: head, request: request, context: context)
        case .body(var chunk):
            request?.receive(&chunk)
        case .end:
            watch.requestCompleted()
            guard let head, let request else { return }
            self.head = nil
            self.request = nil
            answer(request, head: head, context: context)
        }
    }

    /// RFC 9110 §10.1.1: a client that asks before sending its body gets 100 at once, or
    /// the 413 its declared length earns, and then the connection closes, since the body
    /// may or may not follow.
    private func answerExpectation(of head: HTTPRequestHead, request: PublishHTTPRequest, context: ChannelHandlerContext) {
        guard head.headers["expect"].contains(where: { $0.lowercased() == "100-continue" }), case .publish = request.route else { return }
        if let length = head.headers["content-length"].first.flatMap({ Int($0) }), length > settings.maxMessageBytes {
            self.head = nil
            self.request = nil
            var closing = head
            closing.headers.replaceOrAdd(name: "connection", value: "close")
            let limit = settings.maxMessageBytes
            send(.error(.payloadTooLarge, "too_large", "the body is over --max-message-bytes (\(limit))"), head: closing, context: context)
            return
        }
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil)
    }

    private func answer(_ request: PublishHTTPRequest, head: HTTPRequestHead, context: ChannelHandlerContext) {
        switch request.route {
        case .refuse(let answer):
            send(answer, head: head, context: context)
        case .health:
            send(.text(.ok, "ok"), head: head, context: context)
        case .stats:
            send(.json(.ok, core.stats().json), head: head, context: context)
        case .metrics:
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            metrics.render().whenComplete { result in
                let (handler, context) = loopBound.value
                switch result {
                case .success(let text): handler.send(.metrics(text), head: head, context: context)
                case .failure: handler.send(.error(.serviceUnavailable, "unavailable", "the broker is stopping"), head: head, context: context)
                }
            }
        case .publish(let topic, let retain):
            guard let payload = request.body else {
                let limit = settings.maxMessageBytes
                send(.error(.payloadTooLarge, "too_large", "the body is over --max-message-bytes (\(limit))"), head: head, context: context)
                return
            }
            core.submit(topic: topic, payload: payload, retain: retain, binary: PublishHTTPRequest.marksBinary(head.headers)) { [self] result in
                send(.published(result), head: head, context: context)
            }
        }
    }

    private func send(_ answer: HTTPAnswer, head: HTTPRequestHead, context: ChannelHandlerContext) {
        var headers = HTTPHeaders(answer.headers)
        headers.add(name: "Content-Length", value: String(answer.body.readableBytes))
        let keepAlive = head.isKeepAlive
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        var response = HTTPResponseHead(version: head.version, status: answer.status, headers: headers)
        response.headers = headers
        context.write(wrapOutboundOut(.head(response)), promise: nil)
        if head.method != .HEAD { context.write(wrapOutboundOut(.body(.byteBuffer(answer.body))), promise: nil) }
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive { written.assumeIsolated().whenComplete { _ in context.close(promise: nil) } }
    }

    // MARK: Backpressure, as for the line protocol (`PublisherReadGate`)

    /// NIO's pipelining handler already holds requests while one is answered.
    var hasRoomForCommands: Bool { true }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
