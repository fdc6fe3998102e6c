import NIOCore

/// One argument of a command. Redis reads every argument as a bulk string, so integers are
/// sent as their decimal text; they exist only to spare callers the conversion.
public enum RESPArgument: Sendable, ExpressibleByStringLiteral {
    case string(String)
    case bytes(ByteBuffer)
    case integer(Int64)

    public init(stringLiteral value: String) {
        self = .string(value)
    }
}
