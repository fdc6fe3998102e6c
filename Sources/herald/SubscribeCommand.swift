import HeraldServer
import HeraldCore
import HeraldWire
import HeraldClient
import HeraldBench
import ArgumentParser
import NIOCore

struct SubscribeCommand: AsyncParsableCommand {
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

    func run() async throws {
        do {
            let (host, port) = try WebSocketURL.hostAndPort(url)
            // JSON mode carries each message's topic, which a wildcard subscriber needs.
            let client = try await WebSocketClient.connect(host: host, port: port, path: "/ws", offerCompression: !noCompression)
            for (index, pattern) in patterns.enumerated() {
                var request = ByteBuffer()
                request.writeStaticString("{\"op\":\"subscribe\",\"topic\":")
                JSONWriter.writeString(pattern, into: &request)
                request.writeString(",\"id\":\(index)}")
                try await client.send(WebSocketMessage(kind: .text, payload: request))
            }
            for try await message in client.messages {
                let value = message.payload.withUnsafeReadableBytes { try? JSONParser.parse($0) }
                guard let value, case .string(let op)? = value["op"] else { continue }
                switch op {
                case "error":
                    if case .string(let text)? = value["message"] { throw CommandFailure(text) }
                    throw CommandFailure("the broker refused the subscription")
                case "message":
                    printFlushed(json ? message.string : Self.line(for: value))
                default:
                    break
                }
            }
            let status = await client.closeStatus()
            throw CommandFailure("the broker closed the connection" + (status.map { " (\($0))" } ?? ""))
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
