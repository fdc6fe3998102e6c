import HeraldAuth
import Testing
import Topics

@Suite struct GrantsTests {
    static let grants = Grants(
        subject: "user-42",
        subscribe: [try! TopicPattern("prices.>"), try! TopicPattern("payments.user-42"), try! TopicPattern("*.news")],
        publish: [try! TopicPattern("chat.*"), try! TopicPattern("payments.user-42.>")]
    )

    @Test(arguments: [
        ("prices.AAPL", true), ("prices.*", true), ("prices.us.>", true), ("prices.>", true), ("prices", false),
        ("payments.user-42", true), ("payments.user-43", false), ("payments.*", false), ("payments.>", false),
        ("sports.news", true), ("*.news", true), ("*.*", false), (">", false), ("news", false),
    ])
    func subscribe(pattern: String, allowed: Bool) throws {
        #expect(Self.grants.maySubscribe(to: try TopicPattern(pattern)) == allowed)
    }

    @Test(arguments: [
        ("chat.room-1", true), ("chat.room-1.x", false), ("chat", false), ("payments.user-42", false),
        ("payments.user-42.refund", true), ("payments.user-43.refund", false), ("prices.AAPL", false),
    ])
    func publish(topic: String, allowed: Bool) throws {
        #expect(Self.grants.mayPublish(to: try TopicName(topic)) == allowed)
    }

    @Test func noGrantsAllowNothing() throws {
        #expect(!Grants().maySubscribe(to: try TopicPattern("a")))
        #expect(!Grants().mayPublish(to: try TopicName("a")))
    }

    @Test func everythingFromTheWidestGrant() throws {
        let all = Grants(subscribe: [try TopicPattern(">")], publish: [try TopicPattern(">")])
        #expect(all.maySubscribe(to: try TopicPattern("a.*.>")))
        #expect(all.mayPublish(to: try TopicName("a.b.c")))
    }

    @Test func expiry() {
        #expect(!Grants().isExpired(at: .greatestFiniteMagnitude))
        #expect(!Grants(expiresAt: 10).isExpired(at: 9.999))
        #expect(Grants(expiresAt: 10).isExpired(at: 10))
    }
}
