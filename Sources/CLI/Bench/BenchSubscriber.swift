import HeraldClient
import HeraldWire
import Deflate
import ExtrasBase64
import NIOCore

/// Counts what one bench connection receives. It scans frame headers and skips payloads,
/// so that the load tool costs far less per message than the broker it measures; only
/// sampled connections look inside a payload (inflating it if need be) for the timestamp.
///
/// It deliberately does not use NIO's HTTP client codec and `WebSocketFrameDecoder` as
/// `WebSocketClient` does: those allocate a frame (and copy its payload) for every message
/// on every one of thousands of connections, so the bench would spend more per message
/// than the broker it measures and report its own cost. It can skip the checks a real
/// client owes (UTF-8, close codes, reserved bits) because the peer is known to be herald.
final class BenchSubscriber: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let state: BenchState
    private let index: Int
    private let samplesLatency: Bool
    private var buffer = ByteBuffer()
    private var upgraded = false
    private var decompressor: MessageDecompressor?
    private var received = 0
    var latencies: [UInt64] = []

    init(state: BenchState, index: Int, samplesLatency: Bool) {
        self.state = state
        self.index = index
        self.samplesLatency = samplesLatency
    }

    func channelActive(context: ChannelHandlerContext) {
        var request = ByteBuffer()
        request.writeString("GET \(state.path) HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n")
        request.writeString("Sec-WebSocket-Key: \(Base64.encodeToString(bytes: (0..<16).map { _ in UInt8.random(in: 0...255) }))\r\n")
        request.writeString("Sec-WebSocket-Version: 13\r\n")
        if state.offerCompression { request.writeString("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n") }
        request.writeString("\r\n")
        context.writeAndFlush(wrapOutboundOut(request), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        state.bytesIn += incoming.readableBytes
        buffer.writeBuffer(&incoming)
        if !upgraded {
            guard let end = buffer.readableBytesView.firstRange(of: [13, 10, 13, 10]) else { return }
            let head = String(decoding: buffer.readableBytesView[..<end.lowerBound], as: UTF8.self)
            buffer.moveReaderIndex(to: end.upperBound)
            guard head.hasPrefix("HTTP/1.1 101") else {
                state.failed("handshake refused: \(head.prefix(40))")
                context.close(promise: nil)
                return
            }
            upgraded = true
            if samplesLatency, head.lowercased().contains("permessage-deflate") {
                decompressor = try? MessageDecompressor()
            }
            state.connected(index)
        }
        scanFrames(context: context)
        buffer.discardReadBytes()
    }

    private func scanFrames(context: ChannelHandlerContext) {
        while buffer.readableBytes >= 2 {
            let start = buffer.readerIndex
            let first = buffer.getInteger(at: start, as: UInt8.self)!
            let second = buffer.getInteger(at: start + 1, as: UInt8.self)!
            var length = Int(second & 0x7F)
            var headerLength = 2
            if length == 126 {
                guard let extended = buffer.getInteger(at: start + 2, as: UInt16.self) else { return }
                length = Int(extended)
                headerLength = 4
            } else if length == 127 {
                guard let extended = buffer.getInteger(at: start + 2, as: UInt64.self) else { return }
                length = Int(extended)
                headerLength = 10
            }
            guard buffer.readableBytes >= headerLength + length else { return }
            let opcode = first & 0x0F
            switch opcode {
            case 0x1, 0x2:
                received += 1
                if samplesLatency, let payload = buffer.getSlice(at: start + headerLength, length: length) {
                    sample(payload, compressed: first & 0x40 != 0)
                }
            case 0x9:
                // Answer pings so that long runs are not closed as idle.
                var pong = ByteBuffer(bytes: [0x8A, 0x80, 0, 0, 0, 0])
                if let payload = buffer.getSlice(at: start + headerLength, length: length), length < 126 {
                    pong = ByteBuffer(bytes: [0x8A, 0x80 | UInt8(length), 0, 0, 0, 0])
                    var copy = payload
                    pong.writeBuffer(&copy)
                }
                context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
            case 0x8:
                state.failed("connection \(index) closed by the broker")
            default:
                break
            }
            buffer.moveReaderIndex(forwardBy: headerLength + length)
        }
        state.progress(index, received: received)
    }

    private func sample(_ payload: ByteBuffer, compressed: Bool) {
        var payload = payload
        if compressed {
            var inflated = ByteBuffer()
            guard let decompressor, (try? decompressor.decompress(payload, limit: 1 << 24, into: &inflated)) != nil else { return }
            payload = inflated
        }
        guard payload.readInteger(as: UInt8.self) == UInt8(ascii: "T"), let hex = payload.readString(length: 16),
            let sent = UInt64(hex, radix: 16)
        else { return }
        let now = UInt64(NIODeadline.now().uptimeNanoseconds)
        latencies.append(now &- sent)
    }

    func channelInactive(context: ChannelHandlerContext) {
        state.disconnected(index)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        state.failed("connection \(index): \(error)")
        context.close(promise: nil)
    }
}
