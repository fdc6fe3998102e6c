import ArgumentParser
import HeraldAuth
import HeraldClient
import HeraldSettings
import Topics

#if canImport(Glibc)
import Glibc
#endif

/// `herald token` (CONTRACT §1, §7): a token signed with the first key of the secret file,
/// for tests, scripts and services that hand tokens to their clients.
struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "token", abstract: "Print a token (HS256 JWT) granting topics.")

    @Option(help: "The broker's key file (--auth-secret-file); the first key signs.")
    var secretFile: String
    @Option(help: "A pattern the holder may subscribe to; repeatable.")
    var subscribe: [String] = []
    @Option(help: "A pattern whose topics the holder may publish to; repeatable.")
    var publish: [String] = []
    @Option(help: "Lifetime such as 90s, 15m or 24h; 0 for a token that never expires.")
    var ttl = "1h"
    @Option(help: "The holder's name, shown in the broker's logs.")
    var subject: String?

    func run() throws {
        do {
            let subscribe = try patterns(self.subscribe, option: "--subscribe")
            let publish = try patterns(self.publish, option: "--publish")
            guard let seconds = DurationText.seconds(ttl) else {
                throw CommandFailure("--ttl takes a duration such as 90s, 15m or 24h, not '\(ttl)'")
            }
            let keys: AuthKeys
            do {
                keys = try AuthKeys(parsing: try FileContents.read(secretFile, purpose: "secret file"))
            } catch {
                throw CommandFailure("--secret-file \(secretFile): \(error)")
            }
            var now = timespec()
            clock_gettime(CLOCK_REALTIME, &now)
            printFlushed(TokenSigner.mintToken(keys: keys, subscribe: subscribe, publish: publish, ttl: seconds, subject: subject, now: Double(now.tv_sec)))
        } catch {
            fail("\(error)")
        }
    }

    private func patterns(_ texts: [String], option: String) throws -> [TopicPattern] {
        try texts.map { text in
            do { return try TopicPattern(text) } catch { throw CommandFailure("\(option): \(error)") }
        }
    }
}
