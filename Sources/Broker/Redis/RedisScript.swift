import Digest
import NIOCore

/// A Lua script called by its digest, so that each call sends 40 bytes instead of the
/// source. Redis keeps scripts only in memory: after a restart (or SCRIPT FLUSH) the first
/// EVALSHA answers NOSCRIPT, and the script is loaded again and the call retried, once.
public struct RedisScript: Sendable {
    private let source: String
    /// Lowercase hex SHA-1 of the source: the name Redis gives the script.
    public let sha1: String

    public init(_ source: String) {
        self.source = source
        self.sha1 = SHA1.hash(source.utf8).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// The script's reply; like `RedisConnection.send`, an error reply (a failing script, or
    /// one that does not compile) succeeds as `.error`.
    public func run(on connection: RedisConnection, keys: [RESPArgument], arguments: [RESPArgument]) -> EventLoopFuture<RESPValue> {
        let call: [RESPArgument] = ["EVALSHA", .string(sha1), .integer(Int64(keys.count))] + keys + arguments
        return connection.send(call).flatMap { reply in
            guard case .error(let message) = reply, message.hasPrefix("NOSCRIPT") else {
                return connection.eventLoop.makeSucceededFuture(reply)
            }
            // Load and retry back to back: one round trip instead of two.
            let load = connection.sendWithoutFlush(["SCRIPT", "LOAD", .string(source)])
            let retry = connection.send(call)
            return load.and(retry).map { loaded, retried in
                // A script that does not compile makes the retry answer NOSCRIPT again; the
                // load's error is the one that tells why.
                loaded.isError ? loaded : retried
            }
        }
    }
}
