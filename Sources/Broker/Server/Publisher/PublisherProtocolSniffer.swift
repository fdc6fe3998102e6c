import HeraldCore
import HeraldSettings
import NIOCore
import NIOHTTP1

/// The first handler of a Unix-socket connection: it reads the first word and installs the
/// line protocol or HTTP/1.1 behind itself (PROTOCOL.md §9), then leaves, handing on what it read.
final class PublisherProtocolSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    enum Speech: Equatable {
        case lineProtocol
        case http
    }

    private let core: BrokerCore
    private let settings: Settings
    private let metrics: MetricsEndpoint
    private var buffered: ByteBuffer?
    /// Runs while a first word is incomplete: a connection that sent nothing is idle and
    /// stays, one that sent half a word is an incomplete command (PROTOCOL.md §6).
    private var undecidedTimer: Scheduled<Void>?

    init(core: BrokerCore, settings: Settings, metrics: MetricsEndpoint) {
        self.core = core
        self.settings = settings
        self.metrics = metrics
    }

    /// The line protocol's commands are `PUB`, `PING` and `STATS`; anything that starts like
    /// another word followed by a space is taken as an HTTP request line, and what is neither
    /// goes to the line protocol, which refuses it with `-ERR bad_request`. Nil: undecided yet.
    static func sniff(_ bytes: ByteBuffer) -> Speech? {
        let view = bytes.readableBytesView
        guard let end = view.firstIndex(where: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\n") }) else {
            // Longer than any method or command: not HTTP; the line parser reports it.
            return view.count > 16 ? .lineProtocol : nil
        }
        let word = view[view.startIndex..<end]
        if ["PUB", "PING", "STATS"].contains(where: { word.elementsEqual($0.utf8) }) { return .lineProtocol }
        let isMethod = !word.isEmpty && word.allSatisfy { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }
        return isMethod && view[end] == UInt8(ascii: " ") ? .http : .lineProtocol
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        undecidedTimer?.cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if var buffered {
            buffered.writeBuffer(&incoming)
            incoming = buffered
        }
        guard let found = Self.sniff(incoming) else {
            buffered = incoming
            if undecidedTimer == nil {
                undecidedTimer = context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(settings.handshakeTimeoutSeconds)) {
                    context.close(promise: nil)
                }
            }
            return
        }
        buffered = nil
        undecidedTimer?.cancel()
        do {
            let pipeline = context.pipeline.syncOperations
            switch found {
            case .lineProtocol:
                try pipeline.addHandler(PublisherHandler(core: core, settings: settings), position: .after(self))
            case .http:
                let watch = IncompleteRequestWatch(timeout: .seconds(settings.handshakeTimeoutSeconds))
                try pipeline.addHandler(PublisherHTTPHandler(core: core, settings: settings, metrics: metrics, watch: watch), position: .after(self))
                try pipeline.configureHTTPServerPipeline(position: .after(self), withPipeliningAssistance: true, withErrorHandling: true)
                try pipeline.addHandler(watch, position: .after(self))
            }
        } catch {
            context.close(promise: nil)
            return
        }
        context.fireChannelRead(wrapInboundOut(incoming))
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}
