/// `--url ws://HOST:PORT[/…]` of the client subcommands, as host and port.
package enum WebSocketURL {
    package static func hostAndPort(_ url: String) throws -> (host: String, port: Int) {
        guard url.hasPrefix("ws://") else { throw CommandFailure("--url must start with ws://, e.g. ws://127.0.0.1:8080") }
        var rest = url.dropFirst(5)
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        guard let colon = rest.lastIndex(of: ":"), !rest.hasSuffix("]") else { return (String(rest), 80) }
        guard let port = Int(rest[rest.index(after: colon)...]), (1...65535).contains(port) else {
            throw CommandFailure("--url has no valid port: \(url)")
        }
        var host = String(rest[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, port)
    }
}
