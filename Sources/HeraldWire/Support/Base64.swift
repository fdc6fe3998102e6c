import NIOCore

/// Standard base64 with padding (RFC 4648 §4), for handshake keys and binary payloads in
/// JSON envelopes.
package enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let reverse: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (value, character) in alphabet.enumerated() { table[Int(character)] = UInt8(value) }
        return table
    }()

    package static func encode<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> String {
        var output = ByteBuffer()
        encode(bytes, into: &output)
        return String(buffer: output)
    }

    package static func encode<Bytes: Collection<UInt8>>(_ bytes: Bytes, into output: inout ByteBuffer) {
        var iterator = bytes.makeIterator()
        while let first = iterator.next() {
            let second = iterator.next()
            let third = iterator.next()
            let group = UInt32(first) << 16 | UInt32(second ?? 0) << 8 | UInt32(third ?? 0)
            output.writeInteger(alphabet[Int(group >> 18 & 63)])
            output.writeInteger(alphabet[Int(group >> 12 & 63)])
            output.writeInteger(second == nil ? UInt8(ascii: "=") : alphabet[Int(group >> 6 & 63)])
            output.writeInteger(third == nil ? UInt8(ascii: "=") : alphabet[Int(group & 63)])
        }
    }

    /// nil unless `text` is canonical padded base64.
    package static func decode(_ text: some StringProtocol) -> [UInt8]? {
        let bytes = Array(text.utf8)
        guard bytes.count % 4 == 0 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count / 4 * 3)
        for start in stride(from: 0, to: bytes.count, by: 4) {
            let isLast = start + 4 == bytes.count
            var values: [UInt8] = []
            var padding = 0
            for byte in bytes[start..<(start + 4)] {
                if byte == UInt8(ascii: "=") {
                    padding += 1
                    continue
                }
                guard padding == 0 else { return nil }
                let value = reverse[Int(byte)]
                guard value != 0xFF else { return nil }
                values.append(value)
            }
            guard padding <= 2, padding == 0 || isLast else { return nil }
            let group = values.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << UInt32(18 - 6 * $1.offset) }
            output.append(UInt8(truncatingIfNeeded: group >> 16))
            if values.count > 2 { output.append(UInt8(truncatingIfNeeded: group >> 8)) }
            if values.count > 3 { output.append(UInt8(truncatingIfNeeded: group)) }
        }
        return output
    }
}
