import HeraldServer
import HeraldWire
import HeraldClient
import HeraldCommandLine
import Topics

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

struct PublishCommand: Command {
    static let declaration = CommandDeclaration<Self>(
        name: "publish",
        abstract: "Publish MESSAGE, or each line of standard input, to TOPIC.",
        options: [
            .option("socket", \.socket, placeholder: "PATH", help: "The broker's Unix socket. Default ./herald.sock, or $HERALD_SOCKET."),
            .flag("retain", \.retain, help: "Make the message the topic's retained message."),
            .flag("binary", \.binary, help: "Mark the message binary: subscribers get a binary frame, or base64 in JSON mode, even if it is text."),
        ],
        arguments: [
            .argument("TOPIC", \.topic, help: "The topic, e.g. prices.AAPL."),
            .argument("MESSAGE", \.message, help: "The message; without it, every line of standard input is one message."),
        ]
    )

    var socket: String?
    var retain = false
    var binary = false
    var topic = ""
    var message: String?

    /// Commands written ahead of their replies, so that piped lines stream without waiting
    /// a round trip each, yet a refusal is noticed soon.
    static let window = 64

    func run() throws {
        // Checked here, so that a mistyped topic is a usage error naming what is wrong rather
        // than the line protocol's refusal.
        do throws(TopicError) { _ = try TopicName(topic) } catch { throw UsageError("invalid topic '\(topic)': \(error.reason)") }
        let path = socket ?? DefaultSocket.path
        do {
            let descriptor = try UnixSocket.connect(path)
            defer { close(descriptor) }
            var reader = SocketReader(descriptor: descriptor)
            var outstanding = 0
            func send(_ payload: [UInt8]) throws {
                var command = Array("PUB \(topic) \(payload.count)\(retain ? " RETAIN" : "")\(binary ? " BINARY" : "")\r\n".utf8)
                command += payload
                command += [13, 10]
                try UnixSocket.writeAll(descriptor, command)
                outstanding += 1
                while outstanding >= Self.window { try readReply(&reader, &outstanding) }
            }
            if let message {
                try send(Array(message.utf8))
            } else {
                // Raw bytes, not Swift's readLine: a line that is not UTF-8 must arrive as sent.
                var input = SocketReader(descriptor: 0)
                while let line = try input.readLineBytes() { try send(line) }
            }
            while outstanding > 0 { try readReply(&reader, &outstanding) }
        } catch {
            fail("\(error)")
        }
    }

    private func readReply(_ reader: inout SocketReader, _ outstanding: inout Int) throws {
        let reply = try reader.readLine()
        outstanding -= 1
        guard reply.hasPrefix("+OK") else {
            throw CommandFailure(reply.hasPrefix("-ERR ") ? "refused: " + reply.dropFirst(5) : "unexpected reply: \(reply)")
        }
    }
}
