/// Where Redis is and how to log in to it, as operators write it in configuration.
public struct RedisURL: Sendable, Equatable {
    public enum Address: Sendable, Equatable {
        case tcp(host: String, port: Int)
        case unix(path: String)
    }

    public var address: Address
    public var username: String?
    public var password: String?
    public var database: Int

    /// Why a URL was refused. The message never repeats the password: it ends up in logs.
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String

        init(_ problem: String) {
            description = "invalid Redis URL: " + problem
        }
    }

    /// `redis://[[user]:password@]host[:port][/db]` (default port 6379, db 0; IPv6 `[::1]`),
    /// `unix:///path/redis.sock` (optionally `?db=N` and `?password=`); percent-decoding of
    /// user/password. Throws `RedisURL.Invalid` (CustomStringConvertible, one-line message)
    /// on anything else.
    public init(_ text: String) throws {
        let scheme = text.prefix { $0 != ":" }
        let afterScheme = text.dropFirst(scheme.count)
        guard afterScheme.hasPrefix("://") else {
            throw Invalid("expected redis://host[:port][/db] or unix:///path/to/redis.sock")
        }
        let rest = afterScheme.dropFirst(3)
        username = nil
        password = nil
        database = 0
        switch scheme.lowercased() {
        case "redis":
            address = .tcp(host: "", port: 6379)
            try parseTCP(rest)
        case "unix":
            address = .unix(path: "")
            try parseUnix(rest)
        case "rediss":
            throw Invalid("TLS (rediss://) is not supported; use redis:// on a trusted network or a unix socket")
        default:
            throw Invalid("unknown scheme \(String(reflecting: String(scheme))); expected redis:// or unix://")
        }
    }

    private mutating func parseTCP(_ rest: Substring) throws {
        guard !rest.contains("?"), !rest.contains("#") else {
            throw Invalid("redis:// URLs take no query or fragment; the database goes in the path, as redis://host/2")
        }
        let pathStart = rest.firstIndex(of: "/") ?? rest.endIndex
        var authority = rest[..<pathStart]
        // The last "@", so that a password with an unencoded "@" still parses.
        if let at = authority.lastIndex(of: "@") {
            let userInfo = authority[..<at]
            guard let colon = userInfo.firstIndex(of: ":") else {
                throw Invalid("credentials must be written user:password@ or :password@")
            }
            username = try Self.percentDecoded(userInfo[..<colon], what: "user name")
            password = try Self.percentDecoded(userInfo[userInfo.index(after: colon)...], what: "password")
            authority = authority[authority.index(after: at)...]
        }
        let host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw Invalid("IPv6 address without closing ]") }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let afterHost = authority[authority.index(after: close)...]
            if !afterHost.isEmpty {
                guard afterHost.hasPrefix(":") else { throw Invalid("unexpected text after the IPv6 address") }
                portText = afterHost.dropFirst()
            }
            guard host.contains(":") else { throw Invalid("brackets are only for IPv6 addresses") }
        } else {
            let colons = authority.filter { $0 == ":" }.count
            guard colons <= 1 else { throw Invalid("IPv6 addresses must be in brackets, as redis://[::1]:6379") }
            if let colon = authority.firstIndex(of: ":") {
                host = authority[..<colon]
                portText = authority[authority.index(after: colon)...]
            } else {
                host = authority
            }
        }
        guard !host.isEmpty else { throw Invalid("no host") }
        guard host.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0.asciiValue! >= 0x21 && !"[]@/\\".contains($0) }) else {
            throw Invalid("host \(String(reflecting: String(host))) contains characters a host name cannot have")
        }
        var port = 6379
        if let portText {
            guard let value = Self.decimal(portText), (1...65535).contains(value) else {
                throw Invalid("port must be a number from 1 to 65535, not \(String(reflecting: String(portText)))")
            }
            port = value
        }
        address = .tcp(host: String(host), port: port)

        let path = rest[pathStart...].dropFirst()
        if !path.isEmpty {
            database = try Self.database(path)
        }
    }

    private mutating func parseUnix(_ rest: Substring) throws {
        guard rest.hasPrefix("/") else {
            throw Invalid("a unix socket URL is unix:///absolute/path/redis.sock, with three slashes")
        }
        guard !rest.contains("#") else { throw Invalid("unix:// URLs take no fragment") }
        let queryStart = rest.firstIndex(of: "?") ?? rest.endIndex
        let path = rest[..<queryStart]
        guard path.count > 1, !path.hasSuffix("/") else { throw Invalid("no socket file in the path") }
        address = .unix(path: String(path))

        var seen: Set<Substring> = []
        for item in rest[queryStart...].dropFirst().split(separator: "&") {
            let equals = item.firstIndex(of: "=") ?? item.endIndex
            let key = item[..<equals]
            let value = item[equals...].dropFirst()
            guard seen.insert(key).inserted else { throw Invalid("\(String(reflecting: String(key))) given twice") }
            switch key {
            case "db":
                database = try Self.database(value)
            case "password":
                password = try Self.percentDecoded(value, what: "password")
            default:
                throw Invalid("unknown parameter \(String(reflecting: String(key))); unix:// URLs take db and password")
            }
        }
    }

    private static func database(_ text: Substring) throws -> Int {
        guard let value = decimal(text), value <= Int(Int32.max) else {
            throw Invalid("database must be a number from 0, not \(String(reflecting: String(text)))")
        }
        return value
    }

    /// Digits only: `Int.init` would also take a sign, which no port or database has.
    private static func decimal(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.count <= 10, text.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(text)
    }

    /// Percent-decoded UTF-8; an empty component is taken as absent, as in `:password@`.
    private static func percentDecoded(_ text: Substring, what: String) throws -> String? {
        var bytes: [UInt8] = []
        var input = text.utf8[...]
        while let byte = input.popFirst() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard input.count >= 2,
                let high = hexValue(input.popFirst()!),
                let low = hexValue(input.popFirst()!)
            else {
                throw Invalid("the \(what) has a % not followed by two hexadecimal digits")
            }
            bytes.append(high << 4 | low)
        }
        guard !bytes.isEmpty else { return nil }
        guard let decoded = String(validating: bytes, as: UTF8.self) else {
            throw Invalid("the \(what) is not UTF-8 once percent-decoded")
        }
        return decoded
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
