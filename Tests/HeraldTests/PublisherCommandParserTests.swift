@testable import HeraldWire
import NIOCore
import Testing
import Topics

@Suite struct PublisherCommandParserTests {
    func parse(_ chunks: [String], maxPayload: Int = 100) -> [PublisherCommandParser.Command] {
        var parser = PublisherCommandParser(maxLineBytes: 64, maxPayloadBytes: maxPayload)
        var buffer = ByteBuffer()
        var commands: [PublisherCommandParser.Command] = []
        for chunk in chunks {
            buffer.writeString(chunk)
            while let command = parser.next(from: &buffer) { commands.append(command) }
        }
        return commands
    }

    @Test func commandsSplitAnywhereParseTheSame() throws {
        let stream =
            "PUB prices.AAPL 5\r\n189.2\r\nPING\nSTATS\r\nPUB t 3 RETAIN\nabc\n\r\npub t 0\r\n\r\n"
            + "PUB t 1 BINARY\r\nx\r\nPUB t 1 binary retain\r\ny\r\n"
        let whole = parse([stream])
        #expect(
            whole == [
                .publish(topic: try TopicName("prices.AAPL"), payload: ByteBuffer(string: "189.2"), retain: false, binary: false),
                .ping, .stats,
                .publish(topic: try TopicName("t"), payload: ByteBuffer(string: "abc"), retain: true, binary: false),
                .publish(topic: try TopicName("t"), payload: ByteBuffer(), retain: false, binary: false),
                .publish(topic: try TopicName("t"), payload: ByteBuffer(string: "x"), retain: false, binary: true),
                .publish(topic: try TopicName("t"), payload: ByteBuffer(string: "y"), retain: true, binary: true),
            ])
        #expect(parse(stream.map { String($0) }) == whole, "byte by byte")
    }

    @Test func refusedPayloadsAreSkipped() throws {
        let commands = parse(["PUB a.* 4\r\nPING\r\nPUB big 200\r\n", String(repeating: "x", count: 200), "\r\nPING\r\n"])
        guard commands.count == 3, case .refuse("invalid_topic", _, false) = commands[0], case .refuse("too_large", _, false) = commands[1] else {
            Issue.record("unexpected \(commands)")
            return
        }
        #expect(commands[2] == .ping)
    }

    @Test(arguments: [
        "HELLO\r\n", "PUB t\r\n", "PUB t x\r\n", "PUB t 1 NOPE\r\nx\r\n", "PUB t 1 RETAIN RETAIN\r\nx\r\n", "PUB t 1 BINARY RETAIN x\r\nx\r\n",
        "PUB t 1\r\nxy\r\n", "PUB t 1\r\nx\rz",
        String(repeating: "P", count: 65), "PUB t 99999999999999999999\r\n",
    ])
    func unparseableInputIsFatal(input: String) {
        let commands = parse([input])
        guard case .refuse("bad_request", _, true)? = commands.last else {
            Issue.record("\(input.debugDescription) gave \(commands)")
            return
        }
    }

    @Test func nothingAfterAFatalError() {
        #expect(parse(["BOGUS\r\nPING\r\n"]).count == 1)
    }
}
