@testable import HeraldClient
import HeraldWire
import NIOCore
import NIOWebSocket
import Testing

/// The client side of RFC 6455 and RFC 7692, without sockets.
@Suite struct MessageAssemblerFromServerTests {
    func frame(_ opcode: WebSocketOpcode, _ text: String = "", fin: Bool = true, rsv1: Bool = false) -> WebSocketFrame {
        WebSocketFrame(fin: fin, rsv1: rsv1, opcode: opcode, data: ByteBuffer(string: text))
    }

    func closeFrame(_ payload: [UInt8]) -> WebSocketFrame {
        WebSocketFrame(fin: true, opcode: .connectionClose, data: ByteBuffer(bytes: payload))
    }

    @Test func wholeAndFragmentedMessagesWithControlFramesBetween() {
        var assembler = MessageAssembler(maxMessageBytes: 100, compressionNegotiated: false, from: .server)
        #expect(assembler.receive(frame(.text, "hi")) == .message(text: true, payload: ByteBuffer(string: "hi"), compressed: false))
        #expect(assembler.receive(frame(.binary, "ab", fin: false)) == .none)
        #expect(assembler.receive(frame(.ping, "p")) == .ping(ByteBuffer(string: "p")))
        #expect(assembler.receive(frame(.pong, "q")) == .none)
        #expect(assembler.receive(frame(.continuation, "cd", fin: false)) == .none)
        let whole = ByteBuffer(string: "abcde")
        #expect(assembler.receive(frame(.continuation, "e")) == .message(text: false, payload: whole, compressed: false))
    }

    @Test func compressedFlagComesFromTheFirstFrame() {
        var assembler = MessageAssembler(maxMessageBytes: 100, compressionNegotiated: true, from: .server)
        #expect(assembler.receive(frame(.text, "ab", fin: false, rsv1: true)) == .none)
        #expect(assembler.receive(frame(.continuation, "cd")) == .message(text: true, payload: ByteBuffer(string: "abcd"), compressed: true))
    }

    @Test func protocolErrors() {
        func failure(_ frames: [WebSocketFrame], compression: Bool = false) -> UInt16? {
            var assembler = MessageAssembler(maxMessageBytes: 10, compressionNegotiated: compression, from: .server)
            for frame in frames {
                if case .fail(let code, _) = assembler.receive(frame) { return code }
            }
            return nil
        }
        let masked = WebSocketFrame(fin: true, opcode: .text, maskKey: WebSocketMaskingKey([1, 2, 3, 4]), data: ByteBuffer(string: "x"))
        #expect(failure([masked]) == 1002)
        #expect(failure([frame(.continuation, "x")]) == 1002)
        #expect(failure([frame(.text, "a", fin: false), frame(.binary, "b")]) == 1002)
        #expect(failure([frame(.text, "x", rsv1: true)]) == 1002)
        #expect(failure([frame(.text, "x", rsv1: true)], compression: true) == nil)
        #expect(failure([frame(.text, "x", fin: false, rsv1: true), frame(.continuation, "y", rsv1: true)], compression: true) == 1002)
        #expect(failure([frame(.ping, "", rsv1: true)], compression: true) == 1002)
        #expect(failure([frame(WebSocketOpcode(encodedWebSocketOpcode: 3)!, "x")]) == 1002)
        #expect(failure([frame(.text, "01234567890")]) == 1009)
        #expect(failure([frame(.text, "012345", fin: false), frame(.continuation, "67890")]) == 1009)
        var rsv3 = frame(.text, "x")
        rsv3.rsv3 = true
        #expect(failure([rsv3]) == 1002)
    }

    @Test func closeFrames() {
        var assembler = MessageAssembler(maxMessageBytes: 10, compressionNegotiated: false, from: .server)
        #expect(assembler.receive(closeFrame([])) == .close(code: nil, reason: ""))
        #expect(assembler.receive(closeFrame([0x03, 0xE9] + Array("bye".utf8))) == .close(code: 1001, reason: "bye"))
        #expect(assembler.receive(closeFrame([0x03, 0xF4])) == .close(code: 1012, reason: ""))
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

@Suite struct DeflateAgreementTests {
    func read(_ values: [String], offered: Bool = true) throws -> DeflateAgreement? {
        try DeflateAgreement.read(responseHeaderValues: values, offered: offered)
    }

    @Test func acceptedAnswers() throws {
        #expect(try read([]) == nil)
        #expect(try read([], offered: false) == nil)
        #expect(try read(["permessage-deflate"]) == DeflateAgreement(serverNoContextTakeover: false))
        let herald = "permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits=15"
        #expect(try read([herald]) == DeflateAgreement(serverNoContextTakeover: true))
        #expect(try read(["permessage-deflate; server_max_window_bits=10"]) == DeflateAgreement(serverNoContextTakeover: false))
    }

    @Test func refusedAnswers() {
        let bad = [
            "permessage-deflate, permessage-deflate",
            "x-webkit-deflate-frame",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; client_max_window_bits",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=09",
            "permessage-deflate; mystery",
        ]
        for value in bad {
            #expect(throws: WebSocketClientError.self, "\(value)") { try read([value]) }
        }
        #expect(throws: WebSocketClientError.self) { try read(["permessage-deflate"], offered: false) }
    }
}
