import HeraldClient
import HeraldCommandLine

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

struct StatsCommand: Command {
    static let declaration = CommandDeclaration<Self>(
        name: "stats",
        abstract: "Print the broker's STATS JSON.",
        options: [.option("socket", \.socket, placeholder: "PATH", help: "The broker's Unix socket. Default ./herald.sock, or $HERALD_SOCKET.")]
    )

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
