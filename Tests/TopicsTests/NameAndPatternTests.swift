import Testing
import Topics

@Suite struct NameAndPatternTests {
    @Test(arguments: [
        "prices.AAPL", "payments.user-42", "lottery.daily", "a", "x_y:z@w~v.1",
        String(repeating: "a", count: 255), Array(repeating: "s", count: 16).joined(separator: "."),
    ])
    func validNames(name: String) throws {
        #expect(try TopicName(name).string == name)
    }

    @Test(arguments: [
        "", ".", "a.", ".a", "a..b", "prices.*", "prices.>", "a b", "prix.€", "a/b", "a.b\n",
        String(repeating: "a", count: 256), Array(repeating: "s", count: 17).joined(separator: "."),
    ])
    func invalidNames(name: String) {
        #expect(throws: TopicError.self) { try TopicName(name) }
    }

    @Test func errorsSayWhichSegmentAndWhy() {
        #expect(throws: TopicError(input: "a..b", reason: "segment 2 is empty (no leading, trailing or double dots)")) {
            try TopicName("a..b")
        }
        do {
            _ = try TopicName("prices.A$PL")
            Issue.record("accepted")
        } catch {
            #expect(error.description == "invalid topic 'prices.A$PL': segment 2 'A$PL' contains '$'; allowed are ASCII letters, digits and _ - : @ ~")
        }
    }

    @Test(arguments: ["prices.*", "prices.>", "*", ">", "*.*.>", "a.*.c"])
    func validPatterns(pattern: String) throws {
        #expect(try TopicPattern(pattern).string == pattern)
    }

    @Test(arguments: ["prices.>.x", "a.**", "a.>b", "", "a..*", ">.a"])
    func invalidPatterns(pattern: String) {
        #expect(throws: TopicError.self) { try TopicPattern(pattern) }
    }

    @Test func contractExamples() throws {
        let star = try TopicPattern("prices.*")
        let rest = try TopicPattern("prices.>")
        #expect(star.matches(try TopicName("prices.AAPL")))
        #expect(!star.matches(try TopicName("prices.us.AAPL")))
        #expect(rest.matches(try TopicName("prices.AAPL")))
        #expect(rest.matches(try TopicName("prices.us.AAPL")))
        #expect(!rest.matches(try TopicName("prices")))
        #expect(!star.matches(try TopicName("prices")))
        #expect(try TopicPattern("prices.AAPL").exactName?.string == "prices.AAPL")
        #expect(star.exactName == nil)
    }
}
