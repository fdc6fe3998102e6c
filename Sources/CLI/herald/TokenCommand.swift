import HeraldAuth
import HeraldClient
import HeraldCommandLine
import HeraldSettings
import Topics

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// `herald token` (PROTOCOL.md §1, §7): a token signed with the first key of the secret file,
/// for tests, scripts and services that hand tokens to their clients.
struct TokenCommand: Command {
    static let declaration = CommandDeclaration<Self>(
        name: "token",
        abstract: "Print a token (HS256 JWT) granting topics.",
        options: [
            .option("secret-file", \.secretFile, placeholder: "FILE", required: true, help: "The broker's key file (--auth-secret-file); the first key signs."),
            .repeatable("subscribe", \.subscribe, placeholder: "PATTERN", help: "A pattern the holder may subscribe to; repeatable."),
            .repeatable("publish", \.publish, placeholder: "PATTERN", help: "A pattern whose topics the holder may publish to; repeatable."),
            .option("ttl", \.ttl, placeholder: "DURATION", help: "Lifetime such as 90s, 15m or 24h; 0 for a token that never expires."),
            .option("subject", \.subject, placeholder: "ID", help: "The holder's name, shown in the broker's logs."),
        ]
    )

    var secretFile = ""
    var subscribe: [String] = []
    var publish: [String] = []
    var ttl = "1h"
    var subject: String?

    func run() throws(UsageError) {
        let subscribe = try patterns(self.subscribe, option: "--subscribe")
        let publish = try patterns(self.publish, option: "--publish")
        guard let seconds = DurationText.seconds(ttl) else {
            throw UsageError("--ttl takes a duration such as 90s, 15m or 24h, not '\(ttl)'")
        }
        let keys: AuthKeys
        do {
            keys = try AuthKeys(parsing: try FileContents.read(secretFile, purpose: "secret file"))
        } catch {
            fail("--secret-file \(secretFile): \(error)")
        }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        printFlushed(TokenSigner.mintToken(keys: keys, subscribe: subscribe, publish: publish, ttl: seconds, subject: subject, now: Double(now.tv_sec)))
    }

    private func patterns(_ texts: [String], option: String) throws(UsageError) -> [TopicPattern] {
        var patterns: [TopicPattern] = []
        for text in texts {
            do { patterns.append(try TopicPattern(text)) } catch { throw UsageError("\(option): \(error)") }
        }
        return patterns
    }
}
