/// `--listen HOST:PORT`; an IPv6 host is written in brackets, `[::1]:8080`.
struct ListenAddress: Equatable, Sendable {
    var host: String
    var port: Int

    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"),
            let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port)
        else { return nil }
        var host = Substring(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") {
            host = host.dropFirst().dropLast()
        } else if host.contains(":") {
            // An unbracketed IPv6 address cannot be told apart from its port.
            return nil
        }
        guard !host.isEmpty, !host.contains(where: { $0 == "[" || $0 == "]" || $0.isWhitespace }) else { return nil }
        self.init(host: String(host), port: port)
    }

    var text: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}

extension Settings {
    /// The two fields `--listen` sets together.
    var listenAddress: ListenAddress {
        get { ListenAddress(host: listenHost, port: listenPort) }
        set { (listenHost, listenPort) = (newValue.host, newValue.port) }
    }
}
