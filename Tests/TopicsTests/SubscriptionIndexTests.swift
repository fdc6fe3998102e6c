import TestSupport
import Testing
import Topics

@Suite struct SubscriptionIndexTests {
    @Test func matchesEachKindOfPattern() throws {
        var index = SubscriptionIndex<Int>()
        index.insert(try TopicPattern("prices.*"), for: 1)
        index.insert(try TopicPattern("prices.>"), for: 2)
        index.insert(try TopicPattern("prices.AAPL"), for: 3)
        index.insert(try TopicPattern(">"), for: 4)
        index.insert(try TopicPattern("*.AAPL"), for: 5)
        #expect(index.subscribers(matching: try TopicName("prices.AAPL")) == [1, 2, 3, 4, 5])
        #expect(index.subscribers(matching: try TopicName("prices.us.AAPL")) == [2, 4])
        #expect(index.subscribers(matching: try TopicName("prices")) == [4])
        #expect(index.count == 5)
    }

    @Test func insertAndRemoveAreIdempotentAndPrune() throws {
        var index = SubscriptionIndex<String>()
        let pattern = try TopicPattern("a.*.c")
        let results = [
            index.insert(pattern, for: "x"), index.insert(pattern, for: "x"),
            index.remove(pattern, for: "x"), index.remove(pattern, for: "x"),
            index.remove(try TopicPattern("a.b"), for: "x"),
        ]
        #expect(results == [true, false, true, false, false])
        #expect(index.count == 0)
        #expect(index.subscribers(matching: try TopicName("a.b.c")).isEmpty)
    }

    /// The index must agree with matching every pattern by brute force.
    @Test func agreesWithBruteForce() throws {
        var generator = SplitMix64(seed: 7)
        let words = ["a", "b", "c", "prices", "AAPL", "x-1"]
        func randomName(maxDepth: Int) -> [String] {
            (0...Int(generator.next() % UInt64(maxDepth))).map { _ in words[Int(generator.next() % UInt64(words.count))] }
        }
        var patterns: [(TopicPattern, Int)] = []
        var index = SubscriptionIndex<Int>()
        for subscriber in 0..<3000 {
            var segments = randomName(maxDepth: 4)
            for position in segments.indices where generator.next() % 4 == 0 { segments[position] = "*" }
            if generator.next() % 3 == 0 { segments[segments.count - 1] = ">" }
            let pattern = try TopicPattern(segments.joined(separator: "."))
            patterns.append((pattern, subscriber))
            index.insert(pattern, for: subscriber)
        }
        // Remove a third so that pruning is exercised too.
        for (pattern, subscriber) in patterns where subscriber % 3 == 0 { index.remove(pattern, for: subscriber) }
        let live = patterns.filter { $0.1 % 3 != 0 }
        for _ in 0..<2000 {
            let topic = try TopicName(randomName(maxDepth: 5).joined(separator: "."))
            let expected = Set(live.filter { $0.0.matches(topic) }.map(\.1))
            #expect(index.subscribers(matching: topic) == expected, "topic \(topic)")
        }
    }
}
