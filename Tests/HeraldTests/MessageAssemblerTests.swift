@testable import HeraldWire
import NIOCore
import NIOWebSocket
import Testing

@Suite struct MessageAssemblerTests {
    let mask = WebSocketMaskingKey([1, 2, 3, 4])!

    func frame(_ opcode: WebSocketOpcode, _ text: String = "", fin: Bool = true, rsv1: Bool = false, masked: Bool = true) -> WebSocketFrame {
        var data = ByteBuffer(string: text)
        if masked { data.webSocketMask(mask) }
        return WebSocketFrame(fin: fin, rsv1: rsv1, opcode: opcode, maskKey: masked ? mask : nil, data: data)
    }

    func closeFrame(_ payload: [UInt8]) -> WebSocketFrame {
        var data = ByteBuffer(bytes: payload)
        data.webSocketMask(mask)
        return WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: mask, data: data)
    }

    @Test func wholeAndFragmentedMessages() {
        var assembler = MessageAssembler(maxMessageBytes: 100, compressionNegotiated: false)
        #expect(assembler.receive(frame(.text, "hi")) == .message(text: true, payload: ByteBuffer(string: "hi"), compressed: false))
        #expect(assembler.receive(frame(.binary, "ab", fin: false)) == .none)
        #expect(assembler.receive(frame(.ping, "p")) == .ping(ByteBuffer(string: "p")))
        #expect(assembler.receive(frame(.continuation, "cd", fin: false)) == .none)
        #expect(assembler.receive(frame(.continuation, "e")) == .message(text: false, payload: ByteBuffer(string: "abcde"), compressed: false))
    }

    @Test func protocolErrors() {
        func failure(_ frames: [WebSocketFrame], compression: Bool = false) -> UInt16? {
            var assembler = MessageAssembler(maxMessageBytes: 10, compressionNegotiated: compression)
            for frame in frames {
                if case .fail(let code, _) = assembler.receive(frame) { return code }
            }
            return nil
        }
        #expect(failure([frame(.text, "x", masked: false)]) == 1002)
        #expect(failure([frame(.continuation, "x")]) == 1002)
        #expect(failure([frame(.text, "a", fin: false), frame(.text, "b")]) == 1002)
        #expect(failure([frame(.text, "x", rsv1: true)]) == 1002)
        #expect(failure([frame(.text, "x", rsv1: true)], compression: true) == nil)
        #expect(failure([frame(.text, "x", fin: false, rsv1: true), frame(.continuation, "y", rsv1: true)], compression: true) == 1002)
        #expect(failure([frame(.ping, "", rsv1: true)], compression: true) == 1002)
        #expect(failure([frame(WebSocketOpcode(encodedWebSocketOpcode: 3)!, "x")]) == 1002)
        #expect(failure([frame(.text, "01234567890")]) == 1009)
        #expect(failure([frame(.text, "012345", fin: false), frame(.continuation, "67890")]) == 1009)
        var rsv2 = frame(.text, "x")
        rsv2.rsv2 = true
        #expect(failure([rsv2]) == 1002)
    }

    @Test func closeCodes() {
        var assembler = MessageAssembler(maxMessageBytes: 10, compressionNegotiated: false)
        #expect(assembler.receive(closeFrame([])) == .close(code: nil, reason: ""))
        #expect(assembler.receive(closeFrame([0x03, 0xE8])) == .close(code: 1000, reason: ""))
        #expect(assembler.receive(closeFrame([0x0F, 0xA0, 0x61])) == .close(code: 4000, reason: "a"))
        for bad: [UInt8] in [[0x03], [0x03, 0xED], [0x03, 0xEE], [0x03, 0xF7], [0x13, 0x88], [0x00, 0x00]] {
            guard case .fail(1002, _) = assembler.receive(closeFrame(bad)) else {
                Issue.record("close payload \(bad) was accepted")
                continue
            }
        }
        guard case .fail(1007, _) = assembler.receive(closeFrame([0x03, 0xE8, 0xFF])) else {
            return #expect(Bool(false), "a close reason must be UTF-8")
        }
    }
}
