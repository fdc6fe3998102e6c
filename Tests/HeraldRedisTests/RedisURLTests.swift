import HeraldRedis
import Testing

@Suite struct RedisURLTests {
    struct Expected: Sendable, CustomTestStringConvertible {
        var text: String
        var address: RedisURL.Address
        var username: String? = nil
        var password: String? = nil
        var database = 0
        var testDescription: String { text }
    }

    static let valid: [Expected] = [
        .init(text: "redis://localhost", address: .tcp(host: "localhost", port: 6379)),
        .init(text: "redis://localhost/", address: .tcp(host: "localhost", port: 6379)),
        .init(text: "redis://127.0.0.1:6380", address: .tcp(host: "127.0.0.1", port: 6380)),
        .init(text: "redis://127.0.0.1:6380/2", address: .tcp(host: "127.0.0.1", port: 6380), database: 2),
        .init(text: "redis://redis.internal/15", address: .tcp(host: "redis.internal", port: 6379), database: 15),
        .init(text: "REDIS://Cache:1", address: .tcp(host: "Cache", port: 1)),
        .init(text: "redis://h:65535/0", address: .tcp(host: "h", port: 65535)),
        .init(text: "redis://[::1]", address: .tcp(host: "::1", port: 6379)),
        .init(text: "redis://[::1]:7000/3", address: .tcp(host: "::1", port: 7000), database: 3),
        .init(text: "redis://:secret@h", address: .tcp(host: "h", port: 6379), password: "secret"),
        .init(text: "redis://alice:secret@h:1/4", address: .tcp(host: "h", port: 1), username: "alice", password: "secret", database: 4),
        .init(text: "redis://alice:s3cr%40t%3A%2F@h", address: .tcp(host: "h", port: 6379), username: "alice", password: "s3cr@t:/"),
        .init(text: "redis://alice:p@ss@h", address: .tcp(host: "h", port: 6379), username: "alice", password: "p@ss"),
        .init(text: "redis://alice:a:b@h", address: .tcp(host: "h", port: 6379), username: "alice", password: "a:b"),
        .init(text: "redis://%E2%82%AC%20x:%2b+@h", address: .tcp(host: "h", port: 6379), username: "€ x", password: "++"),
        .init(text: "redis://alice:@h", address: .tcp(host: "h", port: 6379), username: "alice"),
        .init(text: "redis://:@h", address: .tcp(host: "h", port: 6379)),
        .init(text: "unix:///var/run/redis/redis.sock", address: .unix(path: "/var/run/redis/redis.sock")),
        .init(text: "unix:///tmp/r.sock?db=3", address: .unix(path: "/tmp/r.sock"), database: 3),
        .init(text: "unix:///tmp/r.sock?password=p%26q%3D", address: .unix(path: "/tmp/r.sock"), password: "p&q="),
        .init(text: "unix:///tmp/r.sock?db=1&password=x", address: .unix(path: "/tmp/r.sock"), password: "x", database: 1),
        .init(text: "unix:///tmp/r.sock?password=x&db=1", address: .unix(path: "/tmp/r.sock"), password: "x", database: 1),
        .init(text: "UNIX:///tmp/r.sock?", address: .unix(path: "/tmp/r.sock")),
    ]

    @Test(arguments: valid)
    func parses(_ expected: Expected) throws {
        let url = try RedisURL(expected.text)
        #expect(url.address == expected.address)
        #expect(url.username == expected.username)
        #expect(url.password == expected.password)
        #expect(url.database == expected.database)
    }

    static let invalid: [String] = [
        "",
        "localhost:6379",
        "localhost",
        "redis:/localhost",
        "http://localhost",
        "rediss://localhost",
        "redis://",
        "redis:///0",
        "redis://:6379",
        "redis://h:0",
        "redis://h:65536",
        "redis://h:99999999999999999999",
        "redis://h:abc",
        "redis://h:+80",
        "redis://h:",
        "redis://h/x",
        "redis://h/-1",
        "redis://h/+1",
        "redis://h/1/2",
        "redis://h/99999999999",
        "redis://h?db=1",
        "redis://h#frag",
        "redis://::1",
        "redis://[::1",
        "redis://[::1]x",
        "redis://[localhost]",
        "redis://user@h",
        "redis://:%zz@h",
        "redis://:%4@h",
        "redis://:%C3@h",
        "redis://h st",
        "redis://h\n",
        "unix://relative.sock",
        "unix://host/tmp/r.sock",
        "unix:///",
        "unix:///tmp/",
        "unix:///tmp/r.sock?db=x",
        "unix:///tmp/r.sock?db=",
        "unix:///tmp/r.sock?foo=1",
        "unix:///tmp/r.sock?user=a",
        "unix:///tmp/r.sock?db=1&db=2",
        "unix:///tmp/r.sock#x",
    ]

    @Test(arguments: invalid)
    func refuses(_ text: String) {
        #expect(throws: RedisURL.Invalid.self) { try RedisURL(text) }
    }

    @Test func messagesAreOneLineAndNeverShowThePassword() {
        for text in ["redis://:hunter2@h:bad", "redis://u:hunter2@h/x", "unix:///s?password=hunter2&db=q", "redis://:hunter2%zz@h", "redis://h\n:1"] {
            do {
                _ = try RedisURL(text)
                Issue.record("\(text) parsed")
            } catch {
                let message = String(describing: error)
                #expect(!message.contains("hunter2"))
                #expect(!message.contains("\n"))
                #expect(message.hasPrefix("invalid Redis URL: "))
            }
        }
    }
}
