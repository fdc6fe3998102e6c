/// A web origin, `scheme://host[:port]` (RFC 6454), as an `Origin` header sends it or an
/// `--allowed-origin` entry names it: scheme and host lowercased, the port made explicit.
struct Origin: Hashable, Sendable {
    let scheme: String
    /// A DNS name, an IPv4 address or a bracketed IPv6 address; for a wildcard entry, the
    /// name after `*.`.
    let host: String
    /// nil only for a scheme without a known default port and no port given.
    let port: Int?
    /// `*.host`: every name below `host`, not `host` itself.
    let isWildcard: Bool

    private static let defaultPorts = ["http": 80, "https": 443, "ws": 80, "wss": 443]

    /// The origin `text` spells, or why it is not one. Only entries may be wildcards.
    static func parse(_ text: String, allowWildcard: Bool) -> Result<Origin, OriginError> {
        func fail(_ reason: String) -> Result<Origin, OriginError> { .failure(OriginError(entry: text, reason: reason)) }
        guard text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            return fail("only printable ASCII without spaces (write an international name in its xn-- form)")
        }
        guard let separator = text.firstRange(of: "://") else { return fail("expected scheme://host[:port]") }
        let scheme = text[..<separator.lowerBound].lowercased()
        guard let first = scheme.utf8.first, isLetter(first),
            scheme.utf8.allSatisfy({ isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") })
        else { return fail("the scheme must be a letter followed by letters, digits, + - or .") }
        let authority = text[separator.upperBound...]
        guard !authority.contains(where: { "/?#@".contains($0) }) else {
            return fail("an origin has no path, query, fragment or user, only scheme://host[:port]")
        }

        var hostText = authority
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return fail("an IPv6 address needs its closing ]") }
            hostText = authority[...close]
            let rest = authority[authority.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { return fail("expected :port after the IPv6 address") }
                portText = rest.dropFirst()
            }
            guard hostText.dropFirst().dropLast().utf8.allSatisfy({ isHexDigit($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") }),
                hostText.count > 2
            else { return fail("an IPv6 address holds only hex digits, : and .") }
        } else if let colon = authority.firstIndex(of: ":") {
            hostText = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        }

        var port = defaultPorts[scheme]
        if let portText {
            guard (1...5).contains(portText.utf8.count), portText.utf8.allSatisfy(isDigit), let number = Int(portText), (1...65535).contains(number)
            else { return fail("the port must be a number from 1 to 65535") }
            port = number
        }

        var host = hostText.lowercased()
        var isWildcard = false
        if host.hasPrefix("*.") && allowWildcard {
            isWildcard = true
            host.removeFirst(2)
        }
        if !host.hasPrefix("[") {
            let labels = host.split(separator: ".", omittingEmptySubsequences: false)
            guard
                labels.allSatisfy({ label in
                    !label.isEmpty && label.utf8.allSatisfy { isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }
                })
            else {
                return fail(
                    allowWildcard
                        ? "the host must be a name, an address or *. followed by a name (letters, digits, - and _ between dots)"
                        : "the host must be a name or an address")
            }
        }
        return .success(Origin(scheme: scheme, host: host, port: port, isWildcard: isWildcard))
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20)
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        isDigit(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte | 0x20)
    }
}
