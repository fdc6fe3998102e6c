import NIOCore
import Testing

@testable import HeraldRedis

@Suite struct RESPEncoderTests {
    private func encoded(_ arguments: [RESPArgument]) -> [UInt8] {
        var buffer = ByteBuffer()
        RESPEncoder.write(arguments, into: &buffer)
        #expect(buffer.readableBytes == RESPEncoder.size(of: arguments))
        return Array(buffer.readableBytesView)
    }

    @Test func writesAnArrayOfBulkStrings() {
        #expect(encoded(["PING"]) == Array("*1\r\n$4\r\nPING\r\n".utf8))
        #expect(encoded(["SET", "key", "value"]) == Array("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n".utf8))
    }

    @Test func integersGoAsDecimalText() {
        #expect(
            encoded(["EXPIRE", "k", .integer(-12), .integer(.min)])
                == Array("*4\r\n$6\r\nEXPIRE\r\n$1\r\nk\r\n$3\r\n-12\r\n$20\r\n-9223372036854775808\r\n".utf8))
    }

    @Test func bytesAreWrittenVerbatim() {
        let payload = ByteBuffer(bytes: [0, 13, 10, 255])
        #expect(encoded(["SET", "k", .bytes(payload)]) == Array("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\n".utf8) + [0, 13, 10, 255] + [13, 10])
    }

    @Test func lengthsCountUTF8Bytes() {
        #expect(encoded(["€"]) == Array("*1\r\n$3\r\n€\r\n".utf8))
    }

    @Test func emptyArgumentsAndEmptyCommand() {
        #expect(encoded([]) == Array("*0\r\n".utf8))
        #expect(encoded(["SET", "k", ""]) == Array("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n".utf8))
    }

    @Test(arguments: [0, 9, 10, 99, 100, 1000, 65536])
    func sizeIsExactAtDigitBoundaries(length: Int) {
        let arguments: [RESPArgument] = ["SET", .string(String(repeating: "x", count: length)), .bytes(ByteBuffer(repeating: 1, count: length))]
        _ = encoded(arguments)
        let many = [RESPArgument](repeating: "a", count: length)
        _ = encoded(many)
    }

    @Test func encodedCommandsDecodeAsArraysOfBulkStrings() throws {
        var buffer = ByteBuffer()
        RESPEncoder.write(["HSET", "h", .integer(42), .bytes(ByteBuffer(string: "v"))], into: &buffer)
        var decoder = RESPDecoder()
        let message = try decoder.decode(buffer: &buffer)
        #expect(message?.value == .array(["HSET", "h", "42", "v"].map { .bulkString(ByteBuffer(string: $0)) }))
    }
}
