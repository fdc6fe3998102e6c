import HeraldSettings
import Testing

/// Durations (PROTOCOL.md §1) through `--idle-timeout`, whose seconds are stored as given.
/// Units may be combined from the largest down, as Go's durations are (`2h30m`, `1m30s`);
/// the same unit twice or a smaller one first is refused, as a likely typo.
@Suite struct DurationTests {
    @Test(arguments: [
        ("30", 30.0), ("0.5", 0.5), (".5", 0.5), ("1.5", 1.5), ("250ms", 0.25), ("30s", 30), ("15m", 900),
        ("1h", 3600), ("1.5h", 5400), ("2h30m", 9000), ("1m30s", 90), ("1s500ms", 1.5), ("1h0m5s", 3605),
    ])
    func accepted(text: String, seconds: Double) throws {
        #expect(try load(["--idle-timeout", text]).idleTimeoutSeconds == seconds)
    }

    @Test(arguments: ["", "abc", "5x", "m", "1h30", "30s1h", "1h1h", "1ms2s", "30 s", "1e3", "inf", "nan", "1.2.3", "-", "+5", "0x10", "5S"])
    func refused(text: String) {
        #expect(loadError(["--idle-timeout", text]) == "--idle-timeout takes a duration such as 30, 0.5, 250ms, 15m or 1h, not '\(text)'")
    }

    @Test func tomlTakesIntegersFloatsAndStrings() throws {
        #expect(try ConfigFixture("idle_timeout = 20").load().idleTimeoutSeconds == 20)
        #expect(try ConfigFixture("idle_timeout = 0.75").load().idleTimeoutSeconds == 0.75)
        #expect(try ConfigFixture("idle_timeout = \"1h30m\"").load().idleTimeoutSeconds == 5400)
    }

    @Test func durationsAreShownInTheirShortestUnit() throws {
        let settings = try load(["--idle-timeout", "3600", "--ping-interval", "90", "--handshake-timeout", "0.25", "--shutdown-grace", "1.5"])
        let shown = Dictionary(uniqueKeysWithValues: settings.summary.map { ($0.name, $0.value) })
        #expect(shown["idle-timeout"] == "1h")
        #expect(shown["ping-interval"] == "90s")
        #expect(shown["handshake-timeout"] == "250ms")
        #expect(shown["shutdown-grace"] == "1.5s")
    }
}
