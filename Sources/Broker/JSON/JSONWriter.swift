import NIOCore

/// Writes compact JSON into a `ByteBuffer`, the form every server message takes.
package enum JSONWriter {
    package static func write(_ value: JSONValue, into buffer: inout ByteBuffer) {
        switch value {
        case .null: buffer.writeStaticString("null")
        case .bool(let flag): buffer.writeStaticString(flag ? "true" : "false")
        case .number(let text): buffer.writeString(text)
        case .string(let text): writeString(text, into: &buffer)
        case .array(let elements):
            buffer.writeInteger(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
                write(element, into: &buffer)
            }
            buffer.writeInteger(UInt8(ascii: "]"))
        case .object(let members):
            buffer.writeInteger(UInt8(ascii: "{"))
            for (index, member) in members.enumerated() {
                if index > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
                writeString(member.key, into: &buffer)
                buffer.writeInteger(UInt8(ascii: ":"))
                write(member.value, into: &buffer)
            }
            buffer.writeInteger(UInt8(ascii: "}"))
        }
    }

    package static func writeString(_ text: String, into buffer: inout ByteBuffer) {
        var copy = text
        copy.withUTF8 { writeString(utf8: UnsafeRawBufferPointer($0), into: &buffer) }
    }

    /// Writes already-valid UTF-8 as a JSON string, escaping what RFC 8259 requires.
    package static func writeString(utf8 bytes: UnsafeRawBufferPointer, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "\""))
        var runStart = 0
        for (index, byte) in bytes.enumerated() where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[runStart..<index]))
            switch byte {
            case UInt8(ascii: "\""): buffer.writeStaticString("\\\"")
            case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
            case 0x0A: buffer.writeStaticString("\\n")
            case 0x0D: buffer.writeStaticString("\\r")
            case 0x09: buffer.writeStaticString("\\t")
            default:
                let hex = Array("0123456789abcdef".utf8)
                buffer.writeStaticString("\\u00")
                buffer.writeInteger(hex[Int(byte >> 4)])
                buffer.writeInteger(hex[Int(byte & 0xF)])
            }
            runStart = index + 1
        }
        buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[runStart...]))
        buffer.writeInteger(UInt8(ascii: "\""))
    }
}
