import HeraldClient
import HeraldCommandLine
import HeraldWire
import JSON
import NIOCore
import NIOSSL

struct SubscribeCommand: Command {
    static let declaration = CommandDeclaration<Self>(
        name: "subscribe",
        abstract: "Print every message on topics matching PATTERN as `TOPIC PAYLOAD`, one per line.",
        options: [
            .option("url", \.url, placeholder: "URL", help: "The broker's WebSocket address, ws:// or wss://."),
            .option("token", \.token, placeholder: "JWT", help: "A token (JWT) for a broker with access control; sent as Authorization: Bearer."),
            .option("ca-file", \.caFile, placeholder: "PEM", help: "PEM certificates to trust for wss://, e.g. a self-signed broker's certificate or its CA."),
            .flag("json", \.json, help: "Print each message's JSON envelope as received."),
            .flag("no-compression", \.noCompression, help: "Do not offer permessage-deflate."),
        ],
        arguments: [.arguments("PATTERN", \.patterns, help: "Patterns such as prices.* or payments.>.")]
    )

    var url = "ws://127.0.0.1:8080"
    var token: String?
    var caFile: String?
    var json = false
    var noCompression = false
    var patterns: [String] = []

    func run() async throws {
        let target = try WebSocketURL(url)
        do {
            // JSON mode carries each message's topic, which a wildcard subscriber needs.
            let client = try await WebSocketClient.connect(
                host: target.host, port: target.port, path: "/ws", offerCompression: !noCompression,
                headers: token.map { [("Authorization", "Bearer \($0)")] } ?? [],
                transport: target.secure ? try Self.tls(host: target.host, caFile: caFile) : nil
            )
            for (index, pattern) in patterns.enumerated() {
                var request = ByteBuffer()
                request.writeStaticString("{\"op\":\"subscribe\",\"topic\":")
                JSONWriter.writeString(pattern, into: &request)
                request.writeString(",\"id\":\(index)}")
                try await client.send(WebSocketMessage(.text, request))
            }
            for try await message in client.messages {
                let value = message.payload.withUnsafeReadableBytes { try? JSONParser.parse($0) }
                guard let value, case .string(let op)? = value["op"] else { continue }
                switch op {
                case "error":
                    let code = if case .string(let code)? = value["code"] { code } else { "error" }
                    let text = if case .string(let text)? = value["message"] { text } else { "the broker refused the subscription" }
                    throw CommandFailure("\(code): \(text)")
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

    /// TLS under HTTP for `wss://`: the system's roots, or only those of `--ca-file`.
    static func tls(host: String, caFile: String?) throws -> WebSocketClient.TransportSetup {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if let caFile {
            do {
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
            } catch {
                throw CommandFailure("--ca-file \(caFile) holds no PEM certificate: \(error)")
            }
        }
        let context = try NIOSSLContext(configuration: configuration)
        // SNI takes names only; an address is checked against the certificate's IP entries.
        let isAddress = host.contains(":") || host.allSatisfy { $0.isNumber || $0 == "." }
        return { channel in
            try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: isAddress ? nil : host))
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
