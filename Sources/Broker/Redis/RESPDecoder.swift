import NIOCore

/// One decoded top-level reply. Push messages are told apart because only the connection's
/// command handler knows whether one answers a request (SUBSCRIBE in RESP3) or arrived
/// unasked (and is dropped).
package struct RESPMessage: Equatable, Sendable {
    package var value: RESPValue
    package var isPush: Bool

    package init(_ value: RESPValue, isPush: Bool = false) {
        self.value = value
        self.isPush = isPush
    }
}

/// RESP2 and RESP3 replies, decoded incrementally.
///
/// Each scalar (a line, or a length-prefixed string) is consumed only once it is complete,
/// while aggregates are built up on a stack across calls: a large array arriving in many
/// reads is then parsed once, not again from its start on every read.
package struct RESPDecoder: NIOSingleStepByteToMessageDecoder {
    package typealias InboundOut = RESPMessage

    package struct Limits: Sendable {
        /// Redis's own proto-max-bulk-len default; larger lengths are corruption, not data.
        package var maxBulkLength = 512 * 1024 * 1024
        /// Far above any real reply, but keeps a hostile count from reserving memory or a
        /// hostile nesting from building an unbounded stack.
        package var maxAggregateCount = 1 << 32
        package var maxDepth = 64
        /// Simple strings, errors and numbers are short; a line without an end is corruption.
        package var maxLineLength = 1024 * 1024

        package init() {}
    }

    private enum AggregateKind {
        case array, set, push, map, attribute
    }

    private struct Frame {
        var kind: AggregateKind
        var remaining: Int
        var elements: [RESPValue]
    }

    private enum Token {
        case value(RESPValue)
        case aggregate(AggregateKind, count: Int)
    }

    private let limits: Limits
    private var stack: [Frame] = []

    package init(limits: Limits = Limits()) {
        self.limits = limits
    }

    package mutating func decode(buffer: inout ByteBuffer) throws -> RESPMessage? {
        while let token = try readToken(&buffer) {
            switch token {
            case .value(let value):
                if let message = complete(value) { return message }
            case .aggregate(let kind, let count):
                if count == 0 {
                    if kind == .attribute { continue }
                    if let message = complete(Self.value(of: kind, elements: []), isPush: kind == .push) {
                        return message
                    }
                    continue
                }
                guard stack.count < limits.maxDepth else {
                    throw RedisError.protocolError("replies nested deeper than \(limits.maxDepth) levels")
                }
                let remaining = kind == .map || kind == .attribute ? count * 2 : count
                var elements: [RESPValue] = []
                elements.reserveCapacity(min(remaining, 1024))
                stack.append(Frame(kind: kind, remaining: remaining, elements: elements))
            }
        }
        return nil
    }

    package mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> RESPMessage? {
        try decode(buffer: &buffer)
    }

    /// Adds a finished value to the aggregate being built, closing every aggregate it fills;
    /// returns the top-level reply once there is one.
    private mutating func complete(_ value: RESPValue, isPush: Bool = false) -> RESPMessage? {
        var value = value
        var isPush = isPush
        while let top = stack.indices.last {
            stack[top].elements.append(value)
            stack[top].remaining -= 1
            guard stack[top].remaining == 0 else { return nil }
            let frame = stack.removeLast()
            // An attribute describes the value after it and is not counted by its parent:
            // dropping it leaves the parent waiting for that value.
            if frame.kind == .attribute { return nil }
            value = Self.value(of: frame.kind, elements: frame.elements)
            isPush = frame.kind == .push
        }
        return RESPMessage(value, isPush: isPush)
    }

    private static func value(of kind: AggregateKind, elements: [RESPValue]) -> RESPValue {
        switch kind {
        case .array, .set, .push, .attribute:
            return .array(elements)
        case .map:
            var pairs: [(RESPValue, RESPValue)] = []
            pairs.reserveCapacity(elements.count / 2)
            var index = 0
            while index + 1 < elements.count {
                pairs.append((elements[index], elements[index + 1]))
                index += 2
            }
            return .map(pairs)
        }
    }

    /// Reads one complete token, or nothing (and consumes nothing) if it has not all arrived.
    private func readToken(_ buffer: inout ByteBuffer) throws -> Token? {
        var input = buffer
        guard let type = input.readInteger(as: UInt8.self) else { return nil }
        let token: Token
        switch type {
        case UInt8(ascii: "+"):
            guard let line = try readLine(&input) else { return nil }
            token = .value(.simpleString(String(decoding: line.readableBytesView, as: UTF8.self)))
        case UInt8(ascii: "-"):
            guard let line = try readLine(&input) else { return nil }
            token = .value(.error(String(decoding: line.readableBytesView, as: UTF8.self)))
        case UInt8(ascii: ":"):
            guard let line = try readLine(&input) else { return nil }
            token = .value(.integer(try Self.integer(line, type: "integer")))
        case UInt8(ascii: "_"):
            guard let line = try readLine(&input) else { return nil }
            guard line.readableBytes == 0 else { throw RedisError.protocolError("null with content") }
            token = .value(.null)
        case UInt8(ascii: "#"):
            guard let line = try readLine(&input) else { return nil }
            switch line.readableBytesView.first {
            case UInt8(ascii: "t") where line.readableBytes == 1: token = .value(.boolean(true))
            case UInt8(ascii: "f") where line.readableBytes == 1: token = .value(.boolean(false))
            default: throw RedisError.protocolError("boolean that is neither t nor f")
            }
        case UInt8(ascii: ","):
            guard let line = try readLine(&input) else { return nil }
            guard let double = Double(String(decoding: line.readableBytesView, as: UTF8.self)) else {
                throw RedisError.protocolError("invalid double")
            }
            token = .value(.double(double))
        case UInt8(ascii: "("):
            guard let line = try readLine(&input) else { return nil }
            token = .value(try Self.bigNumber(line))
        case UInt8(ascii: "$"):
            guard let bulk = try readBulk(&input, nullable: true) else { return nil }
            token = .value(bulk.map(RESPValue.bulkString) ?? .null)
        case UInt8(ascii: "!"):
            guard let bulk = try readBulk(&input, nullable: false), let bytes = bulk else { return nil }
            token = .value(.error(String(decoding: bytes.readableBytesView, as: UTF8.self)))
        case UInt8(ascii: "="):
            guard let bulk = try readBulk(&input, nullable: false), var bytes = bulk else { return nil }
            // "txt:" or "mkd:": the format says how to display the text, not what it is.
            guard bytes.readableBytes >= 4, bytes.getInteger(at: bytes.readerIndex + 3, as: UInt8.self) == UInt8(ascii: ":") else {
                throw RedisError.protocolError("verbatim string without a format prefix")
            }
            bytes.moveReaderIndex(forwardBy: 4)
            token = .value(.bulkString(bytes))
        case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"), UInt8(ascii: "%"), UInt8(ascii: "|"):
            guard let line = try readLine(&input) else { return nil }
            let count = try Self.integer(line, type: "aggregate length")
            let kind: AggregateKind
            switch type {
            case UInt8(ascii: "*"): kind = .array
            case UInt8(ascii: "~"): kind = .set
            case UInt8(ascii: ">"): kind = .push
            case UInt8(ascii: "%"): kind = .map
            default: kind = .attribute
            }
            if count == -1 && kind == .array {
                token = .value(.null)
            } else {
                guard count >= 0 && count <= limits.maxAggregateCount else {
                    throw RedisError.protocolError("aggregate length \(count) out of range")
                }
                token = .aggregate(kind, count: Int(count))
            }
        default:
            throw RedisError.protocolError("unknown reply type byte \(type)")
        }
        buffer.moveReaderIndex(to: input.readerIndex)
        return token
    }

    /// The bytes before the next CRLF, or nil until it has arrived.
    private func readLine(_ input: inout ByteBuffer) throws -> ByteBuffer? {
        let view = input.readableBytesView
        guard let carriageReturn = view.firstIndex(of: UInt8(ascii: "\r")) else {
            guard view.count <= limits.maxLineLength else {
                throw RedisError.protocolError("line longer than \(limits.maxLineLength) bytes")
            }
            return nil
        }
        let length = carriageReturn - view.startIndex
        guard length <= limits.maxLineLength else {
            throw RedisError.protocolError("line longer than \(limits.maxLineLength) bytes")
        }
        guard carriageReturn + 1 < view.endIndex else { return nil }
        guard view[carriageReturn + 1] == UInt8(ascii: "\n") else {
            throw RedisError.protocolError("carriage return not followed by line feed")
        }
        let line = input.readSlice(length: length)
        input.moveReaderIndex(forwardBy: 2)
        return line
    }

    /// A length-prefixed string: nil until all of it has arrived; `.some(nil)` for the
    /// RESP2 null bulk string.
    private func readBulk(_ input: inout ByteBuffer, nullable: Bool) throws -> ByteBuffer?? {
        guard let line = try readLine(&input) else { return nil }
        let length = try Self.integer(line, type: "string length")
        if length == -1 && nullable { return .some(nil) }
        guard length >= 0 && length <= limits.maxBulkLength else {
            throw RedisError.protocolError("string length \(length) out of range")
        }
        guard input.readableBytes >= Int(length) + 2 else { return nil }
        let bytes = input.readSlice(length: Int(length))!
        guard input.readInteger(as: UInt16.self) == UInt16(0x0D0A) else {
            throw RedisError.protocolError("string not followed by CRLF")
        }
        return .some(bytes)
    }

    private static func integer(_ line: ByteBuffer, type: String) throws -> Int64 {
        guard let value = parseInt64(line.readableBytesView) else {
            throw RedisError.protocolError("invalid \(type)")
        }
        return value
    }

    private static func bigNumber(_ line: ByteBuffer) throws -> RESPValue {
        if let value = parseInt64(line.readableBytesView) { return .integer(value) }
        var digits = line.readableBytesView[...]
        if digits.first == UInt8(ascii: "-") || digits.first == UInt8(ascii: "+") { digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else {
            throw RedisError.protocolError("invalid big number")
        }
        return .bulkString(line)
    }

    /// Decimal digits with an optional sign, without going through String: these are in
    /// every reply header.
    private static func parseInt64(_ bytes: ByteBufferView) -> Int64? {
        var index = bytes.startIndex
        var negative = false
        if index < bytes.endIndex, bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
            negative = bytes[index] == UInt8(ascii: "-")
            index += 1
        }
        guard index < bytes.endIndex else { return nil }
        var value: Int64 = 0
        while index < bytes.endIndex {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            // Accumulating negatively reaches Int64.min, which has no positive counterpart.
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = shifted.subtractingReportingOverflow(Int64(digit))
            guard !overflow1 && !overflow2 else { return nil }
            value = next
            index += 1
        }
        if negative { return value }
        guard value != .min else { return nil }
        return -value
    }
}
