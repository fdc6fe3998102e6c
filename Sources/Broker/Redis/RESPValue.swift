import NIOCore

/// A RESP2/RESP3 reply.
///
/// RESP3's set `~` and push `>` arrive as `.array`, verbatim strings `=` as `.bulkString`
/// (without their `txt:` prefix), blob errors `!` as `.error`, and big numbers `(` as
/// `.integer` when they fit in 64 bits, otherwise as `.bulkString` of their decimal digits:
/// the backplane needs none of those distinctions, and fewer cases keep its switches short.
public enum RESPValue: Equatable, Sendable {
    case simpleString(String)
    /// The whole error line, code first, e.g. "NOSCRIPT No matching script. Please use EVAL."
    case error(String)
    case integer(Int64)
    case bulkString(ByteBuffer)
    /// RESP2's null bulk string and null array, and RESP3's `_`.
    case null
    case array([RESPValue])
    /// Pairs in the order the server sent them: keys need not be hashable (RESP3 allows any
    /// value as a key), and order can matter to the caller.
    case map([(RESPValue, RESPValue)])
    case double(Double)
    case boolean(Bool)

    public static func == (lhs: RESPValue, rhs: RESPValue) -> Bool {
        switch (lhs, rhs) {
        case let (.simpleString(a), .simpleString(b)): return a == b
        case let (.error(a), .error(b)): return a == b
        case let (.integer(a), .integer(b)): return a == b
        case let (.bulkString(a), .bulkString(b)): return a == b
        case (.null, .null): return true
        case let (.array(a), .array(b)): return a == b
        case let (.map(a), .map(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case let (.double(a), .double(b)): return a == b
        case let (.boolean(a), .boolean(b)): return a == b
        default: return false
        }
    }
}

extension RESPValue {
    /// Simple or bulk string as UTF-8; nil for anything else, and for bytes that are not
    /// valid UTF-8 (a lossy repair would hand the caller text the server never stored).
    public var string: String? {
        switch self {
        case .simpleString(let text): return text
        case .bulkString(let bytes): return String(validating: bytes.readableBytesView, as: UTF8.self)
        default: return nil
        }
    }

    /// An integer reply, or a string holding a decimal integer: Redis answers `GET` of a
    /// counter, and some commands' numbers, as strings.
    public var int: Int64? {
        switch self {
        case .integer(let value): return value
        case .simpleString, .bulkString: return string.flatMap { Int64($0) }
        default: return nil
        }
    }

    public var bytes: ByteBuffer? {
        switch self {
        case .bulkString(let bytes): return bytes
        case .simpleString(let text): return ByteBuffer(string: text)
        default: return nil
        }
    }

    public var array: [RESPValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    public var isError: Bool {
        if case .error = self { return true }
        return false
    }
}
