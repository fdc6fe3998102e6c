import ExtrasBase64

/// The URL-safe base64 of JWS (RFC 7515 §2), `-` and `_` for `+` and `/`, unpadded, on
/// swift-extras-base64. Decoding accepts only the canonical spelling (no `=`, no set bits
/// in the unused low bits of the last character), which the library alone does not check:
/// otherwise one signed token would have several valid spellings.
package enum Base64URL {
    private static let options: Base64.EncodingOptions = [.base64UrlAlphabet, .omitPaddingCharacter]

    package static func encode(_ bytes: some Collection<UInt8>) -> String {
        Base64.encodeToString(bytes: bytes, options: options)
    }

    package static func decode(_ text: some Collection<UInt8>) -> [UInt8]? {
        guard let bytes = try? Base64.decode(bytes: text, options: [.base64UrlAlphabet, .omitPaddingCharacter]),
            Base64.encodeToBytes(bytes: bytes, options: options).elementsEqual(text)
        else { return nil }
        return bytes
    }
}
