/// One element of a `Sec-WebSocket-Extensions` list: an extension name and its parameters,
/// in the order the client sent them.
///
/// Parameters stay a list rather than a dictionary so that a negotiator can see repeated
/// parameters, which RFC 7692 requires it to refuse.
public struct ExtensionOffer: Equatable, Sendable {
    public struct Parameter: Equatable, Sendable {
        /// Lower-cased; extension parameter names are case-insensitive tokens.
        public var name: String
        /// The value with any quoting removed; `nil` when the parameter had no `=`.
        public var value: String?

        public init(name: String, value: String? = nil) {
            self.name = name
            self.value = value
        }
    }

    /// Lower-cased extension token, e.g. `permessage-deflate`.
    public var name: String
    public var parameters: [Parameter]

    public init(name: String, parameters: [Parameter] = []) {
        self.name = name
        self.parameters = parameters
    }

    /// Parses the values of every `Sec-WebSocket-Extensions` header of a request, in order.
    ///
    /// Several headers form one list (RFC 7230 §3.2.2). Elements that are not well formed
    /// are returned as `nil` in place so that a negotiator can skip them without losing
    /// the position of the offers around them.
    public static func parse(headerValues: [String]) -> [ExtensionOffer?] {
        var offers: [ExtensionOffer?] = []
        for value in headerValues {
            for element in splitOutsideQuotes(Array(value.utf8), separator: UInt8(ascii: ",")) {
                if element.allSatisfy(isWhitespace) { continue }  // empty list elements are legal
                offers.append(parseElement(element))
            }
        }
        return offers
    }

    private static func parseElement(_ bytes: [UInt8]) -> ExtensionOffer? {
        let parts = splitOutsideQuotes(bytes, separator: UInt8(ascii: ";"))
        guard let name = token(trimmed(parts[0])) else { return nil }
        var parameters: [Parameter] = []
        for part in parts.dropFirst() {
            let item = trimmed(part)
            if let equals = item.firstIndex(of: UInt8(ascii: "=")) {
                guard let parameterName = token(trimmed(Array(item[..<equals]))),
                    let value = parameterValue(trimmed(Array(item[(equals + 1)...])))
                else { return nil }
                parameters.append(Parameter(name: parameterName, value: value))
            } else {
                guard let parameterName = token(item) else { return nil }
                parameters.append(Parameter(name: parameterName))
            }
        }
        return ExtensionOffer(name: name, parameters: parameters)
    }

    private static func parameterValue(_ bytes: [UInt8]) -> String? {
        guard bytes.first == UInt8(ascii: "\"") else {
            return token(bytes) != nil ? String(decoding: bytes, as: UTF8.self) : nil
        }
        guard bytes.count >= 2, bytes.last == UInt8(ascii: "\"") else { return nil }
        var unquoted: [UInt8] = []
        var escaped = false
        for byte in bytes[1..<(bytes.count - 1)] {
            if escaped {
                unquoted.append(byte)
                escaped = false
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
            } else if byte == UInt8(ascii: "\"") {
                return nil
            } else {
                unquoted.append(byte)
            }
        }
        // RFC 6455 §9.1: a quoted value must still be a valid token once unquoted.
        guard !escaped, token(unquoted) != nil else { return nil }
        return String(decoding: unquoted, as: UTF8.self)
    }

    /// Returns the lower-cased token, or nil when `bytes` is not an RFC 7230 token.
    private static func token(_ bytes: [UInt8]) -> String? {
        guard !bytes.isEmpty, bytes.allSatisfy(isTokenCharacter) else { return nil }
        return String(decoding: bytes, as: UTF8.self).lowercased()
    }

    private static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")
    }

    private static func trimmed(_ bytes: [UInt8]) -> [UInt8] {
        guard let start = bytes.firstIndex(where: { !isWhitespace($0) }),
            let end = bytes.lastIndex(where: { !isWhitespace($0) })
        else { return [] }
        return Array(bytes[start...end])
    }

    private static func splitOutsideQuotes(_ bytes: [UInt8], separator: UInt8) -> [[UInt8]] {
        var parts: [[UInt8]] = [[]]
        var inQuotes = false
        var escaped = false
        for byte in bytes {
            if inQuotes {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inQuotes = false
                }
                parts[parts.count - 1].append(byte)
            } else if byte == separator {
                parts.append([])
            } else {
                if byte == UInt8(ascii: "\"") { inQuotes = true }
                parts[parts.count - 1].append(byte)
            }
        }
        return parts
    }
}
