import HeraldCommandLine

/// `--url ws://HOST:PORT[/…]` or `wss://…` of the client subcommands; a malformed one is
/// a usage error, like any other bad value on the command line.
package struct WebSocketURL: Equatable {
    package var secure: Bool
    package var host: String
    package var port: Int

    package init(_ url: String) throws(UsageError) {
        if url.hasPrefix("wss://") {
            secure = true
        } else if url.hasPrefix("ws://") {
            secure = false
        } else {
            throw UsageError("--url must start with ws:// or wss://, e.g. ws://127.0.0.1:8080")
        }
        var rest = url.drop { $0 != "/" }.dropFirst(2)
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        guard let colon = rest.lastIndex(of: ":"), !rest.hasSuffix("]") else {
            host = Self.unbracketed(rest)
            port = secure ? 443 : 80
            return
        }
        guard let port = Int(rest[rest.index(after: colon)...]), (1...65535).contains(port) else {
            throw UsageError("--url has no valid port: \(url)")
        }
        self.host = Self.unbracketed(rest[..<colon])
        self.port = port
    }

    private static func unbracketed(_ host: Substring) -> String {
        host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : String(host)
    }
}
