/// One part of a dotted key, with where it was written so redefinitions can point at it.
struct KeyPart {
    let name: String
    let position: TOMLPosition

    /// The part as TOML would write it: quoted when not bare, so that an empty key or one
    /// holding dots or newlines stays visible and keeps a message on one line.
    var written: String {
        if !name.isEmpty, name.utf8.allSatisfy(\.isBareKeyByte) {
            return name
        }
        var text = "\""
        for scalar in name.unicodeScalars {
            switch scalar {
            case "\"", "\\": text += "\\" + String(scalar)
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                text += "\\u" + scalar.value.paddedHex
            default: text.unicodeScalars.append(scalar)
            }
        }
        return text + "\""
    }
}

extension Collection<KeyPart> {
    /// The key as written in TOML, for messages.
    var dotted: String { map(\.written).joined(separator: ".") }
}

extension Parser {
    /// key = simple-key *( ws "." ws simple-key ), also consuming the whitespace after it.
    mutating func parseKey() throws(TOMLError) -> [KeyPart] {
        var parts = [try parseKeyPart()]
        skipWhitespace()
        while current == .dot {
            offset += 1
            skipWhitespace()
            parts.append(try parseKeyPart())
            skipWhitespace()
        }
        return parts
    }

    /// Quoted keys are single-line strings only: `"""a""" = 1` reads as the key "" followed by junk.
    private mutating func parseKeyPart() throws(TOMLError) -> KeyPart {
        let start = offset
        let position = position(at: start)
        switch current {
        case .quote?:
            return KeyPart(name: try parseBasicString(), position: position)
        case .apostrophe?:
            return KeyPart(name: try parseLiteralString(), position: position)
        case let byte? where byte.isBareKeyByte:
            while let byte = current, byte.isBareKeyByte {
                offset += 1
            }
            return KeyPart(name: String(decoding: bytes[start..<offset], as: UTF8.self), position: position)
        default:
            throw failure("expected a key (letters, digits, '-', '_' or a quoted string)", at: start)
        }
    }
}
