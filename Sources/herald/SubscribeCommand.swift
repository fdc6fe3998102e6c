import HeraldServer
import HeraldCore
import HeraldWire
import HeraldClient
import HeraldBench
import ArgumentParser
import NIOCore

struct SubscribeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "subscribe",
        abstract: "Print every message on topics matching PATTERN as `TOPIC PAYLOAD`, one per line."
    )

    @Option(help: "The broker's WebSocket address.")
    var url = "ws://127.0.0.1:8080"
    @Flag(help: "Print each message's JSON envelope as received.")
    var json = false
    @Flag(help: "Do not offer permessage-deflate.")
    var noCompression = false
    @Argument(help: "Patterns such as prices.* or payments.>.")
    var patterns: [String]

    func validate() throws {
        guard !patterns.isEmpty else { throw ValidationError("give at least one pattern") }
    }

    func run() throws {
        do {
            let (host, port) = try WebSocketURL.hostAndPort(url)
            // JSON mode carries each message's topic, which a wildcard subscriber needs.
            let socket = try BlockingWebSocket(host: host, port: port, path: "/ws", offerCompression: !noCompression)
            for (index, pattern) in patterns.enumerated() {
                var request = ByteBuffer()
                request.writeStaticString("{\"op\":\"subscribe\",\"topic\":")
                JSONWriter.writeString(pattern, into: &request)
                request.writeString(",\"id\":\(index)}")
                try socket.sendText(String(buffer: request))
            }
            var pendingReplies = patterns.count
            while let message = try socket.receive() {
                let value = message.payload.withUnsafeBytes { try? JSONParser.parse($0) }
                guard let value, case .string(let op)? = value["op"] else { continue }
                switch op {
                case "error":
                    if case .string(let text)? = value["message"] { throw CommandFailure(text) }
                    throw CommandFailure("the broker refused the subscription")
                case "ok":
                    pendingReplies -= 1
                case "message":
                    printFlushed(json ? String(decoding: message.payload, as: UTF8.self) : Self.line(for: value))
                default:
                    break
                }
            }
            _ = pendingReplies
            throw CommandFailure("the broker closed the connection")
        } catch {
            fail("\(error)")
        }
    }

    /// `TOPIC PAYLOAD`: text as it was published, binary as `base64:…`.
    static func line(for envelope: JSONValue) -> String {
        guard case .string(let topic)? = envelope["topic"], let data = envelope["data"] else { return "" }
        if case .string(let text) = data {
            if case .string("base64")? = envelope["encoding"] { return "\(topic) base64:\(text)" }
            return "\(topic) \(text)"
        }
        var buffer = ByteBuffer()
        JSONWriter.write(data, into: &buffer)
        return "\(topic) \(String(buffer: buffer))"
    }
}
