import NIOCore
import Testing

@testable import HeraldRedis

/// Feeds `input` to a fresh decoder `chunk` bytes at a time, as reads from a socket would
/// arrive, and collects every reply.
private func decode(_ input: [UInt8], chunk: Int = .max, limits: RESPDecoder.Limits = .init()) throws -> [RESPMessage] {
    var decoder = RESPDecoder(limits: limits)
    var buffer = ByteBuffer()
    var messages: [RESPMessage] = []
    var offset = 0
    while offset < input.count {
        let end = min(input.count, offset + chunk)
        buffer.writeBytes(input[offset..<end])
        offset = end
        while let message = try decoder.decode(buffer: &buffer) {
            messages.append(message)
        }
    }
    #expect(buffer.readableBytes == 0)
    return messages
}

private func decode(_ input: String, chunk: Int = .max, limits: RESPDecoder.Limits = .init()) throws -> [RESPMessage] {
    try decode(Array(input.utf8), chunk: chunk, limits: limits)
}

private func bulk(_ text: String) -> RESPValue { .bulkString(ByteBuffer(string: text)) }

@Suite struct RESPDecoderTests {
    static let cases: [(String, RESPValue)] = [
        ("+OK\r\n", .simpleString("OK")),
        ("+\r\n", .simpleString("")),
        ("-NOSCRIPT No matching script. Please use EVAL.\r\n", .error("NOSCRIPT No matching script. Please use EVAL.")),
        (":0\r\n", .integer(0)),
        (":42\r\n", .integer(42)),
        (":+7\r\n", .integer(7)),
        (":-7\r\n", .integer(-7)),
        (":9223372036854775807\r\n", .integer(.max)),
        (":-9223372036854775808\r\n", .integer(.min)),
        ("$5\r\nhello\r\n", bulk("hello")),
        ("$0\r\n\r\n", bulk("")),
        ("$4\r\na\r\nb\r\n", bulk("a\r\nb")),
        ("$-1\r\n", .null),
        ("*-1\r\n", .null),
        ("_\r\n", .null),
        ("*0\r\n", .array([])),
        ("*3\r\n$1\r\na\r\n:1\r\n$-1\r\n", .array([bulk("a"), .integer(1), .null])),
        (",3.5\r\n", .double(3.5)),
        (",-0.25\r\n", .double(-0.25)),
        (",1e3\r\n", .double(1000)),
        (",10\r\n", .double(10)),
        (",inf\r\n", .double(.infinity)),
        (",-inf\r\n", .double(-.infinity)),
        ("#t\r\n", .boolean(true)),
        ("#f\r\n", .boolean(false)),
        ("!21\r\nSYNTAX invalid syntax\r\n", .error("SYNTAX invalid syntax")),
        ("=15\r\ntxt:Some string\r\n", bulk("Some string")),
        ("=4\r\nmkd:\r\n", bulk("")),
        ("(12\r\n", .integer(12)),
        ("(-3492890328409238509324850943850943825024385\r\n", bulk("-3492890328409238509324850943850943825024385")),
        ("%0\r\n", .map([])),
        ("%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n", .map([(.simpleString("first"), .integer(1)), (.simpleString("second"), .integer(2))])),
        ("~2\r\n+a\r\n+b\r\n", .array([.simpleString("a"), .simpleString("b")])),
        ("~0\r\n", .array([])),
        // Attributes are skipped, at the top and inside aggregates, counted by no one.
        (
            "|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n*2\r\n:2039123\r\n:9543892\r\n",
            .array([.integer(2_039_123), .integer(9_543_892)])
        ),
        ("*2\r\n:1\r\n|1\r\n+ttl\r\n:3600\r\n:2\r\n", .array([.integer(1), .integer(2)])),
        ("|0\r\n:5\r\n", .integer(5)),
        ("%1\r\n|1\r\n+a\r\n+b\r\n+key\r\n+value\r\n", .map([(.simpleString("key"), .simpleString("value"))])),
        (
            "*3\r\n*2\r\n:1\r\n*1\r\n*0\r\n%1\r\n+k\r\n~1\r\n_\r\n#t\r\n",
            .array([
                .array([.integer(1), .array([.array([])])]),
                .map([(.simpleString("k"), .array([.null]))]),
                .boolean(true),
            ])
        ),
        ("*2\r\n*-1\r\n$-1\r\n", .array([.null, .null])),
        ("%1\r\n*1\r\n:1\r\n%1\r\n:2\r\n:3\r\n", .map([(.array([.integer(1)]), .map([(.integer(2), .integer(3))]))])),
    ]

    @Test(arguments: cases)
    func decodesWholeAndByteByByte(input: String, expected: RESPValue) throws {
        #expect(try decode(input) == [RESPMessage(expected)])
        #expect(try decode(input, chunk: 1) == [RESPMessage(expected)])
        #expect(try decode(input, chunk: 3) == [RESPMessage(expected)])
    }

    @Test func nanIsADouble() throws {
        let messages = try decode(",nan\r\n", chunk: 1)
        guard case .double(let value)? = messages.first?.value else {
            Issue.record("not a double: \(messages)")
            return
        }
        #expect(value.isNaN)
    }

    @Test func pushesAreMarked() throws {
        let input = ">3\r\n+message\r\n+news\r\n$2\r\nhi\r\n:1\r\n>0\r\n"
        let expected = [
            RESPMessage(.array([.simpleString("message"), .simpleString("news"), bulk("hi")]), isPush: true),
            RESPMessage(.integer(1)),
            RESPMessage(.array([]), isPush: true),
        ]
        #expect(try decode(input) == expected)
        #expect(try decode(input, chunk: 1) == expected)
    }

    @Test func anArrayInsideAPushIsNotAPush() throws {
        #expect(try decode("*1\r\n>1\r\n:1\r\n") == [RESPMessage(.array([.array([.integer(1)])]))])
    }

    @Test func backToBackRepliesInOneRead() throws {
        let input = "+OK\r\n:1\r\n$3\r\nabc\r\n*1\r\n+x\r\n-ERR no\r\n"
        let expected: [RESPMessage] = [
            .init(.simpleString("OK")), .init(.integer(1)), .init(bulk("abc")),
            .init(.array([.simpleString("x")])), .init(.error("ERR no")),
        ]
        #expect(try decode(input) == expected)
        #expect(try decode(input, chunk: 1) == expected)
    }

    @Test func incompleteInputConsumesNothingOfAnUnfinishedScalar() throws {
        var decoder = RESPDecoder()
        var buffer = ByteBuffer(string: "$5\r\nhel")
        #expect(try decoder.decode(buffer: &buffer) == nil)
        #expect(buffer.readableBytes == 7)
        buffer.writeString("lo\r\n")
        #expect(try decoder.decode(buffer: &buffer) == RESPMessage(bulk("hello")))
        #expect(buffer.readableBytes == 0)
    }

    @Test func binaryBulkStringsKeepEveryByte() throws {
        let payload: [UInt8] = Array(0...255)
        let input = Array("$256\r\n".utf8) + payload + Array("\r\n".utf8)
        #expect(try decode(input, chunk: 7) == [RESPMessage(.bulkString(ByteBuffer(bytes: payload)))])
    }

    @Test func largeArrayInSmallReads() throws {
        var input = "*10000\r\n"
        for index in 0..<10000 { input += ":\(index)\r\n" }
        let messages = try decode(input, chunk: 5)
        #expect(messages == [RESPMessage(.array((0..<10000).map { .integer(Int64($0)) }))])
    }

    static let malformed: [String] = [
        "?1\r\n",  // unknown type
        ":12a\r\n",
        ":\r\n",
        ":-\r\n",
        ":99999999999999999999\r\n",
        ":9223372036854775808\r\n",
        "$-2\r\n",
        "$abc\r\n",
        "$536870913\r\n",  // one byte over Redis's 512 MiB
        "$9223372036854775807\r\n",
        "*-2\r\n",
        "*4294967297\r\n",
        "*99999999999999999999\r\n",
        "%-1\r\n",
        ">-1\r\n",
        "~-1\r\n",
        "|-1\r\n",
        "!-1\r\n",
        "=-1\r\n",
        "+OK\rX",
        "$3\r\nabcXY",
        "#x\r\n",
        "#tt\r\n",
        "#\r\n",
        ",abc\r\n",
        ",\r\n",
        "_x\r\n",
        "=3\r\nabc\r\n",
        "(12x\r\n",
        "(\r\n",
        "*1\r\n?\r\n",
        "$?\r\n",  // RESP3 streamed strings: Redis never sends them
    ]

    @Test(arguments: malformed)
    func rejectsMalformedInput(input: String) {
        #expect(throws: RedisError.self) { try decode(input) }
        #expect(throws: RedisError.self) { try decode(input, chunk: 1) }
    }

    @Test func protocolErrorsSayWhat() {
        do {
            _ = try decode("$536870913\r\n")
            Issue.record("no error")
        } catch {
            guard case .protocolError(let detail)? = error as? RedisError else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(detail.contains("536870913"))
        }
    }

    @Test func nestingDepthIsLimited() throws {
        var limits = RESPDecoder.Limits()
        limits.maxDepth = 8
        let allowed = String(repeating: "*1\r\n", count: 8) + ":1\r\n"
        var expected = RESPValue.integer(1)
        for _ in 0..<8 { expected = .array([expected]) }
        #expect(try decode(allowed, limits: limits) == [RESPMessage(expected)])
        let tooDeep = String(repeating: "*1\r\n", count: 9) + ":1\r\n"
        #expect(throws: RedisError.self) { try decode(tooDeep, limits: limits) }
        // Attributes count too: they are nested aggregates like any other.
        let attributeTooDeep = String(repeating: "*1\r\n", count: 8) + "|1\r\n+a\r\n+b\r\n:1\r\n"
        #expect(throws: RedisError.self) { try decode(attributeTooDeep, limits: limits) }
    }

    @Test func defaultDepthLimitStopsHostileNesting() {
        let hostile = String(repeating: "*1\r\n", count: 100_000)
        #expect(throws: RedisError.self) { try decode(hostile) }
    }

    @Test func bulkLengthIsLimited() throws {
        var limits = RESPDecoder.Limits()
        limits.maxBulkLength = 10
        #expect(try decode("$10\r\n0123456789\r\n", limits: limits) == [RESPMessage(bulk("0123456789"))])
        // Refused as soon as the header is read, before any of the body is waited for.
        #expect(throws: RedisError.self) { try decode("$11\r\n", limits: limits) }
        #expect(throws: RedisError.self) { try decode("!11\r\n", limits: limits) }
        #expect(throws: RedisError.self) { try decode("=11\r\n", limits: limits) }
    }

    @Test func aggregateCountIsLimited() throws {
        var limits = RESPDecoder.Limits()
        limits.maxAggregateCount = 2
        #expect(try decode("*2\r\n:1\r\n:2\r\n", limits: limits) == [RESPMessage(.array([.integer(1), .integer(2)]))])
        #expect(throws: RedisError.self) { try decode("*3\r\n", limits: limits) }
        #expect(throws: RedisError.self) { try decode("%3\r\n", limits: limits) }
    }

    @Test func lineLengthIsLimitedBeforeTheLineEnds() throws {
        var limits = RESPDecoder.Limits()
        limits.maxLineLength = 16
        #expect(try decode("+" + String(repeating: "x", count: 16) + "\r\n", limits: limits).count == 1)
        #expect(throws: RedisError.self) { try decode("+" + String(repeating: "x", count: 17), limits: limits) }
        #expect(throws: RedisError.self) { try decode("-" + String(repeating: "x", count: 17) + "\r\n", chunk: 1, limits: limits) }
    }
}
