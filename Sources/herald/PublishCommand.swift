import HeraldServer
import HeraldCore
import HeraldWire
import HeraldClient
import HeraldBench
import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

struct PublishCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Publish MESSAGE, or each line of standard input, to TOPIC."
    )

    @Option(help: "The broker's Unix socket. Default ./herald.sock, or $HERALD_SOCKET.")
    var socket: String?
    @Flag(help: "Make the message the topic's retained message.")
    var retain = false
    @Flag(help: "Mark the message binary: subscribers get a binary frame, or base64 in JSON mode, even if it is text.")
    var binary = false
    @Argument(help: "The topic, e.g. prices.AAPL.")
    var topic: String
    @Argument(help: "The message; without it, every line of standard input is one message.")
    var message: String?

    /// Commands written ahead of their replies, so that piped lines stream without waiting
    /// a round trip each, yet a refusal is noticed soon.
    static let window = 64

    func run() throws {
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

struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stats", abstract: "Print the broker's STATS JSON.")

    @Option(help: "The broker's Unix socket. Default ./herald.sock, or $HERALD_SOCKET.")
    var socket: String?

    func run() throws {
        do {
            let descriptor = try UnixSocket.connect(socket ?? DefaultSocket.path)
            defer { close(descriptor) }
            try UnixSocket.writeAll(descriptor, Array("STATS\r\n".utf8))
            var reader = SocketReader(descriptor: descriptor)
            let header = try reader.readLine()
            guard header.hasPrefix("+STATS "), let length = Int(header.dropFirst(7)) else {
                throw CommandFailure("unexpected reply: \(header)")
            }
            let json = try reader.readBytes(length)
            printFlushed(String(decoding: json, as: UTF8.self))
        } catch {
            fail("\(error)")
        }
    }
}
