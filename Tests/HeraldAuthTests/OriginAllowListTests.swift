import HeraldAuth
import Testing

@Suite struct OriginAllowListTests {
    static let list = try! OriginAllowList(entries: [
        "https://app.example.com", "http://localhost:3000", "https://*.example.org", "HTTPS://Mixed.Example.NET:443",
        "http://[::1]:8080", "http://127.0.0.1", "capacitor://localhost",
    ])

    @Test(arguments: [
        ("https://app.example.com", true), ("https://app.example.com:443", true), ("https://APP.Example.com", true),
        ("HTTPS://app.example.com", true), ("http://app.example.com", false), ("https://app.example.com:8443", false),
        ("https://example.com", false), ("https://evil-app.example.com", false), ("https://app.example.com.evil.com", false),
        ("https://x.app.example.com", false),
        ("http://localhost:3000", true), ("http://localhost", false), ("http://localhost:3001", false),
        ("https://a.example.org", true), ("https://a.b.example.org", true), ("https://A.EXAMPLE.ORG:443", true),
        ("https://example.org", false), ("https://aexample.org", false), ("http://a.example.org", false),
        ("https://a.example.org:444", false), ("https://a.example.org.evil", false),
        ("https://mixed.example.net", true), ("http://[::1]:8080", true), ("http://[::1]", false),
        ("http://127.0.0.1:80", true), ("http://127.0.0.2", false),
        ("capacitor://localhost", true), ("capacitor://localhost:80", false),
        ("null", false), ("", false), ("https://app.example.com/", false), ("https://user@app.example.com", false),
        ("app.example.com", false), ("https://*.example.org", false), ("https://app.example.com ", false),
        ("https://app.example.com:", false), ("https://app.example.com.", false),
    ])
    func origin(_ origin: String, allowed: Bool) {
        #expect(Self.list.allows(origin: origin) == allowed)
    }

    @Test(arguments: [
        "example.com", "https://", "https://a.com/", "https://a.com:0", "https://a.com:65536", "https://a.com:x",
        "https://a.*.com", "https://*", "https://*.", "https://a..com", "ftp ://a.com", "https://bücher.de", "https://[::1",
        "https://a.com:443/path", "https://*example.com", "://a.com", "1http://a.com", "https://user@a.com", "https://a.com?x",
        "https://[zz]", "https://[]", "https://a.com:-1", "https://a.com:+80",
    ])
    func malformedEntries(entry: String) {
        do {
            _ = try OriginAllowList(entries: ["https://fine.example.com", entry])
            Issue.record("accepted \(entry)")
        } catch {
            #expect(error.entry == entry)
            #expect(error.description.hasPrefix("invalid --allowed-origin '\(entry)': "))
            #expect(!error.description.contains("\n"))
        }
    }

    @Test func withoutEntriesEveryOriginPasses() throws {
        let none = try OriginAllowList(entries: [])
        #expect(none.isEmpty)
        #expect(none.allows(origin: "null"))
        #expect(none.allows(origin: "https://anything.example"))
        #expect(!Self.list.isEmpty)
    }
}
