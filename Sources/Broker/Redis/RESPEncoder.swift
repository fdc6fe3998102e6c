import NIOCore

/// Commands go out as RESP arrays of bulk strings, the one request form every Redis version
/// accepts; inline commands would break on arguments with spaces or binary data.
package enum RESPEncoder {
    package static func write(_ arguments: [RESPArgument], into buffer: inout ByteBuffer) {
        buffer.writeStaticString("*")
        writeDecimal(arguments.count, into: &buffer)
        for argument in arguments {
            switch argument {
            case .string(let text):
                buffer.writeStaticString("$")
                writeDecimal(text.utf8.count, into: &buffer)
                buffer.writeString(text)
            case .bytes(let bytes):
                buffer.writeStaticString("$")
                writeDecimal(bytes.readableBytes, into: &buffer)
                buffer.writeImmutableBuffer(bytes)
            case .integer(let value):
                let text = String(value)
                buffer.writeStaticString("$")
                writeDecimal(text.utf8.count, into: &buffer)
                buffer.writeString(text)
            }
            buffer.writeStaticString("\r\n")
        }
    }

    /// The exact size, so that one allocation holds the whole command.
    package static func size(of arguments: [RESPArgument]) -> Int {
        var size = 1 + decimalLength(arguments.count) + 2
        for argument in arguments {
            let length: Int
            switch argument {
            case .string(let text): length = text.utf8.count
            case .bytes(let bytes): length = bytes.readableBytes
            case .integer(let value): length = String(value).utf8.count
            }
            size += 1 + decimalLength(length) + 2 + length + 2
        }
        return size
    }

    private static func writeDecimal(_ value: Int, into buffer: inout ByteBuffer) {
        buffer.writeString(String(value))
        buffer.writeStaticString("\r\n")
    }

    private static func decimalLength(_ value: Int) -> Int {
        var length = 1
        var rest = value
        while rest >= 10 {
            rest /= 10
            length += 1
        }
        return length
    }
}
