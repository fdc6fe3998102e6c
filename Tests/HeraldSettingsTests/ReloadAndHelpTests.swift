import HeraldSettings
import Logging
import Testing
import Foundation
import Topics

@Suite struct ReloadAndHelpTests {
    /// The names of PROTOCOL.md §1, §6 and §10 that exist today; a setting added to the table
    /// must be added here too, which keeps the table from growing by accident.
    static let expectedNames = [
        "listen", "socket", "threads", "metrics", "history", "max-history-bytes", "history-ttl", "max-retained-bytes",
        "compression", "compression-threshold", "deflate-window-bits",
        "max-message-bytes", "max-frame-bytes", "max-pending-bytes", "slow-consumer", "keep-latest", "handshake-timeout",
        "ping-interval", "idle-timeout", "max-subscriptions", "max-connections", "max-handshakes", "max-line-bytes",
        "allow-client-publish", "auth-secret-file", "allow-anonymous", "allowed-origin", "tls-cert", "tls-key",
        "redis", "redis-prefix", "shutdown-grace", "log-level", "log-format",
    ]
    /// The help's sections, in the packaged herald.toml's order.
    static let groupTitles = [
        "LISTENERS:", "HISTORY AND RETAINED MESSAGES:", "COMPRESSION:", "LIMITS AND SLOW CONSUMERS:", "ACCESS CONTROL:", "TLS:",
        "SEVERAL BROKERS:", "SHUTDOWN AND LOGS:",
    ]

    @Test func theDeclaredNamesAreTheOptions() {
        #expect(Settings.optionNames == Self.expectedNames)
    }

    @Test func changesNameEachSettingAndWhetherItReloads() throws {
        let old = Settings()
        var new = old
        new.listenPort = 9000
        new.allowClientPublish = [try .init("chat.>")]
        new.logLevel = .debug
        let changes = new.changes(from: old)
        #expect(changes.map(\.name) == ["listen", "allow-client-publish", "log-level"])
        #expect(changes.map(\.reloadable) == [false, true, true])
        #expect(changes.map(\.oldValue) == ["127.0.0.1:8080", "none", "info"])
        #expect(changes.map(\.newValue) == ["127.0.0.1:9000", "chat.>", "debug"])
        #expect(changes[0].description == "listen 127.0.0.1:8080 -> 127.0.0.1:9000 (needs a restart)")
        #expect(changes[2].description == "log-level info -> debug")
    }

    @Test func equalSettingsHaveNoChanges() throws {
        let settings = try load(["--history", "3", "--allow-client-publish", "a.>"])
        #expect(settings.changes(from: settings).isEmpty)
        #expect(try load(["--history", "3", "--allow-client-publish", "a.>"]).changes(from: settings).isEmpty)
    }

    @Test func onlyReloadableSettingsAreApplied() throws {
        let running = Settings()
        let reloaded = try load(["--log-level", "error", "--allow-client-publish", "x.*", "--history", "1", "--log-format", "json"])
        let applied = running.applyingReloadable(from: reloaded)
        #expect(applied.logLevel == .error)
        #expect(applied.allowClientPublish.map(\.string) == ["x.*"])
        #expect(applied.historyPerTopic == 100)
        #expect(applied.logFormat == .text)
        #expect(reloaded.changes(from: applied).map(\.name) == ["history", "log-format"])
    }

    @Test func theHelpListsEveryOptionWithItsDefault() {
        // One entry per option: its usage, then its help, wrapped onto indented lines.
        let titles = Settings.helpText.split(separator: "\n").filter { !$0.hasPrefix(" ") }.map(String.init)
        #expect(titles == Self.groupTitles)
        let lines = Settings.helpText.split(separator: "\n").filter { $0.hasPrefix(" ") }.reduce(into: [String]()) { entries, line in
            if line.hasPrefix("   ") {
                entries[entries.count - 1] += " " + line.drop { $0 == " " }
            } else {
                entries.append(String(line))
            }
        }
        #expect(lines.count == Self.expectedNames.count + 1)
        for name in Self.expectedNames where !["compression", "metrics"].contains(name) {
            #expect(lines.contains { $0.hasPrefix("  --\(name) ") }, "\(name) is missing from the help")
        }
        #expect(lines.contains { $0.hasPrefix("  --[no-]compression ") && $0.hasSuffix("Default: true.") })
        #expect(lines.contains { $0.hasPrefix("  --[no-]metrics ") && $0.hasSuffix("Default: false.") })
        #expect(lines.contains { $0.hasPrefix("  --config FILE ") })
        #expect(lines.contains { $0.hasPrefix("  --listen HOST:PORT ") && $0.hasSuffix("Default: 127.0.0.1:8080.") })
        #expect(lines.contains { $0.hasPrefix("  --threads N ") && $0.hasSuffix("Default: one per core.") })
        #expect(lines.contains { $0.hasPrefix("  --idle-timeout DURATION ") && $0.hasSuffix("Default: 75s.") })
        #expect(lines.contains { $0.hasPrefix("  --log-level trace|debug|info|notice|warning|error|critical ") })
        #expect(lines.contains { $0.contains("--log-level") && $0.hasSuffix("Applied on SIGHUP.") })
        #expect(!lines.contains { $0.contains("--listen") && $0.contains("SIGHUP") })
    }

    @Test func theSummaryShowsEverySettingInForce() throws {
        let settings = try load(["--listen", "[::1]:0", "--allow-client-publish", "a.>", "--allow-client-publish", "b.*"])
        #expect(settings.summary.map(\.name) == Self.expectedNames)
        let shown = Dictionary(uniqueKeysWithValues: settings.summary.map { ($0.name, $0.value) })
        #expect(shown["listen"] == "[::1]:0")
        #expect(shown["allow-client-publish"] == "a.>, b.*")
        #expect(shown["compression"] == "true")
        #expect(shown["slow-consumer"] == "disconnect")
        #expect(shown["max-pending-bytes"] == "1048576")
    }
}
