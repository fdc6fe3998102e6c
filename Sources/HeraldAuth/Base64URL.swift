/// The URL-safe base64 of JWS (RFC 7515 §2): `-` and `_` for `+` and `/`, no padding.
///
/// Decoding is strict so that one token has one spelling: no `=`, nothing outside the
/// alphabet, no length that leaves a lone character, and no set bits in the unused low
/// bits of the last character.
package enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    private static let invalid: UInt8 = 0xFF
    private static let reverse: [UInt8] = {
        var table = [UInt8](repeating: invalid, count: 256)
        for (value, character) in alphabet.enumerated() { table[Int(character)] = UInt8(value) }
        return table
    }()

    package static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var output: [UInt8] = []
        var group: UInt32 = 0
        var bits = 0
        for byte in bytes {
            group = group << 8 | UInt32(byte)
            bits += 8
            while bits >= 6 {
                bits -= 6
                output.append(alphabet[Int(group >> UInt32(bits) & 63)])
            }
        }
        if bits > 0 { output.append(alphabet[Int(group << UInt32(6 - bits) & 63)]) }
        return String(decoding: output, as: UTF8.self)
    }

    /// nil unless `text` is canonical unpadded base64url.
    package static func decode(_ text: some Collection<UInt8>) -> [UInt8]? {
        guard text.count % 4 != 1 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(text.count * 3 / 4)
        var group: UInt32 = 0
        var bits = 0
        for character in text {
            let value = reverse[Int(character)]
            guard value != invalid else { return nil }
            group = group << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                output.append(UInt8(truncatingIfNeeded: group >> UInt32(bits)))
            }
        }
        // The 2 or 4 bits left over must be zero, or a second text would decode the same.
        guard group & ((1 << UInt32(bits)) - 1) == 0 else { return nil }
        return output
    }
}
