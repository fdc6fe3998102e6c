import Topics

#if canImport(Glibc)
import Glibc
#endif

/// `--config FILE`: `key = value` lines named like the `serve` options (`max-pending-bytes`
/// or `max_pending_bytes`), `#` comments, strings in double quotes, and a list of strings
/// for `allow-client-publish`. Flags given on the command line win over the file.
enum ConfigFile {
    static func apply(path: String, to settings: inout BrokerConfiguration) throws {
        guard let file = fopen(path, "r") else {
            throw CommandFailure("cannot read config file \(path): \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var text = ""
        var chunk = [CChar](repeating: 0, count: 4096)
        while fgets(&chunk, Int32(chunk.count), file) != nil {
            text += String(decoding: chunk.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        try apply(text: text, to: &settings, source: path)
    }

    static func apply(text: String, to settings: inout BrokerConfiguration, source: String) throws {
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first?.trimmingSpaces ?? ""
            if line.isEmpty { continue }
            func failure(_ message: String) -> CommandFailure { CommandFailure("\(source):\(number + 1): \(message)") }
            guard let equals = line.firstIndex(of: "=") else { throw failure("expected key = value") }
            let key = line[..<equals].trimmingSpaces.replacingOccurrences("_", with: "-")
            let value = line[line.index(after: equals)...].trimmingSpaces
            func integer() throws -> Int {
                guard let number = Int(value) else { throw failure("\(key) takes a whole number") }
                return number
            }
            func decimal() throws -> Double {
                guard let number = Double(value) else { throw failure("\(key) takes a number of seconds") }
                return number
            }
            func string() throws -> String {
                guard value.count >= 2, value.first == "\"", value.last == "\"" else { throw failure("\(key) takes a quoted string") }
                return String(value.dropFirst().dropLast())
            }
            switch key {
            case "listen":
                (settings.listenHost, settings.listenPort) = try ServeCommand.parseListen(try string())
            case "socket": settings.socketPath = try string()
            case "history": settings.historyPerTopic = try integer()
            case "compression":
                guard value == "true" || value == "false" else { throw failure("compression takes true or false") }
                settings.compression = value == "true"
            case "compression-threshold": settings.compressionThreshold = try integer()
            case "deflate-window-bits": settings.deflateWindowBits = try integer()
            case "max-message-bytes": settings.maxMessageBytes = try integer()
            case "max-frame-bytes": settings.maxFrameBytes = try integer()
            case "max-pending-bytes": settings.maxPendingBytes = try integer()
            case "slow-consumer":
                guard let policy = BrokerConfiguration.SlowConsumerPolicy(rawValue: try string()) else {
                    throw failure("slow-consumer is \"disconnect\" or \"drop\"")
                }
                settings.slowConsumer = policy
            case "handshake-timeout": settings.handshakeTimeoutSeconds = try decimal()
            case "ping-interval": settings.pingIntervalSeconds = try decimal()
            case "idle-timeout": settings.idleTimeoutSeconds = try decimal()
            case "max-subscriptions": settings.maxSubscriptionsPerConnection = try integer()
            case "max-connections": settings.maxConnections = try integer()
            case "max-line-bytes": settings.maxLineBytes = try integer()
            case "shutdown-grace": settings.shutdownGraceSeconds = try decimal()
            case "threads": settings.threads = try integer()
            case "allow-client-publish":
                guard value.first == "[", value.last == "]" else { throw failure("allow-client-publish takes a list: [\"chat.>\"]") }
                let items = value.dropFirst().dropLast().split(separator: ",").map(\.trimmingSpaces).filter { !$0.isEmpty }
                settings.allowClientPublish = try items.map { item in
                    guard item.count >= 2, item.first == "\"", item.last == "\"" else { throw failure("list items are quoted strings") }
                    do { return try TopicPattern(String(item.dropFirst().dropLast())) } catch { throw failure("\(error)") }
                }
            default:
                throw failure("unknown setting '\(key)'")
            }
        }
    }
}

extension String {
    func replacingOccurrences(_ target: Character, with replacement: Character) -> String {
        String(map { $0 == target ? replacement : $0 })
    }
}
