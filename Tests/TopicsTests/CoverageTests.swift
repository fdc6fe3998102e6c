import TestSupport
import Testing
import Topics

/// `TopicPattern.covers(_:)` against its definition: every name the requested pattern
/// matches, the granted one matches too, checked over every name of a small universe.
///
/// The universe is every name over the patterns' literals plus one fresh one-byte segment
/// ("o"). That is enough: in a name that one pattern matches and the other does not, every
/// segment that is neither pattern's literal can become "o" without changing either answer
/// or making the name longer.
@Suite struct CoverageTests {
    static let literals = ["a", "b", "cd"]
    static let fresh = "o"

    @Test(arguments: [
        ("prices.>", "prices.AAPL", true), ("prices.>", "prices.*", true), ("prices.>", "prices.us.>", true),
        ("prices.*", "prices.AAPL", true), ("prices.*", "prices.>", false), ("*.AAPL", "prices.AAPL", true),
        (">", "prices.AAPL", true), (">", "a.*.>", true), (">", ">", true), (">", "*", true),
        ("prices.>", "prices", false), ("prices.>", ">", false), ("prices.AAPL", "prices.*", false),
        ("prices.AAPL", "prices.AAPL", true), ("prices.AAPL", "prices.MSFT", false), ("*", ">", false),
        ("*.*", "prices.>", false), ("prices.*.>", "prices.>", false), ("prices.*.>", "prices.us.>", true),
        ("prices.us.>", "prices.>", false), ("*.>", "prices.*", true), ("*.AAPL", "prices.*", false),
    ])
    func contractTable(granted: String, requested: String, expected: Bool) throws {
        #expect(try TopicPattern(granted).covers(TopicPattern(requested)) == expected)
    }

    @Test func limitsOfRealNames() throws {
        let fifteen = (0..<15).map { String(UnicodeScalar(UInt8(ascii: "a") + UInt8($0))) }.joined(separator: ".")
        let fourteen = (0..<14).map { String(UnicodeScalar(UInt8(ascii: "a") + UInt8($0))) }.joined(separator: ".")
        // A 16th segment is the last a name can have, so `>` there is one segment.
        #expect(try TopicPattern(fifteen + ".*").covers(TopicPattern(fifteen + ".>")))
        #expect(try !TopicPattern(fourteen + ".*").covers(TopicPattern(fourteen + ".>")))
        // 255 bytes: `x.>` leaves room for `.y.z` (4 bytes) only when the text is at most 253.
        for (prefix, covered) in [(253, true), (252, true), (251, false), (200, false)] {
            let head = String(repeating: "a", count: prefix)
            #expect(try TopicPattern(head + ".*").covers(TopicPattern(head + ".>")) == covered, "prefix \(prefix)")
            #expect(try TopicPattern(head + ".>").covers(TopicPattern(head + ".*")))
        }
    }

    @Test func everyPatternCoversItself() throws {
        var random = SplitMix64(seed: 7)
        for _ in 0..<500 {
            let pattern = try Self.randomPattern(maxSegments: 5, using: &random)
            #expect(pattern.covers(pattern), "\(pattern)")
        }
    }

    /// Real limits, patterns of up to four segments: a name that tells two such patterns
    /// apart never needs more than five segments.
    @Test func randomPairsAgainstBruteForce() throws {
        var random = SplitMix64(seed: 0x7E_4A1D)
        let universe = try Self.names(maxSegments: 5, maxBytes: 255)
        let pool = try (0..<400).map { _ in try Self.randomPattern(maxSegments: 4, using: &random) }
        let matched = pool.map { pattern in universe.map(pattern.matches) }
        var covering = 0
        for _ in 0..<5000 {
            let granted = Int.random(in: 0..<pool.count, using: &random)
            let requested = Int.random(in: 0..<pool.count, using: &random)
            let truth = Self.isSubset(matched[requested], of: matched[granted])
            covering += truth ? 1 : 0
            #expect(pool[granted].covers(pool[requested]) == truth, "\(pool[granted]) covers \(pool[requested])")
        }
        // Both answers must be exercised for the comparison to mean anything.
        #expect(covering > 250 && covering < 4750, "\(covering) covering pairs")
    }

    /// Small limits stand in for 16 segments and 255 bytes, so that every name up to the
    /// limit can be listed and the trailing-`>` rule is checked at the edge.
    @Test(arguments: [(3, 7), (4, 8), (4, 9), (4, 12)])
    func limitsAgainstBruteForce(maxSegments: Int, maxBytes: Int) throws {
        let universe = try Self.names(maxSegments: maxSegments, maxBytes: maxBytes)
        let pool = try Self.allPatterns(maxSegments: maxSegments, maxBytes: maxBytes)
        let matched = Dictionary(uniqueKeysWithValues: pool.map { ($0, universe.map($0.matches)) })
        func check(_ granted: TopicPattern, _ requested: TopicPattern) -> Bool {
            let truth = Self.isSubset(matched[requested]!, of: matched[granted]!)
            let answer = granted.covers(requested, maxSegments: maxSegments, maxBytes: maxBytes)
            #expect(answer == truth, "\(granted) covers \(requested) within \(maxSegments) segments, \(maxBytes) bytes")
            return truth
        }
        var random = SplitMix64(seed: UInt64(maxSegments * 1000 + maxBytes))
        for _ in 0..<3000 {
            _ = check(pool.randomElement(using: &random)!, pool.randomElement(using: &random)!)
        }
        // Every trailing `>` against the same pattern ending in `*`, both ways.
        var starCoversRest = 0
        for requested in pool where requested.string.hasSuffix(">") {
            let granted = try TopicPattern(String(requested.string.dropLast()) + "*")
            starCoversRest += check(granted, requested) ? 1 : 0
            _ = check(requested, granted)
        }
        #expect(starCoversRest > 0, "no pattern reached the limit")
    }

    static func isSubset(_ small: [Bool], of large: [Bool]) -> Bool {
        zip(small, large).allSatisfy { !$0 || $1 }
    }

    static func names(maxSegments: Int, maxBytes: Int) throws -> [TopicName] {
        let segments = literals + [fresh]
        var level = segments
        var all: [String] = []
        for _ in 1...maxSegments {
            level = level.filter { $0.utf8.count <= maxBytes }
            all += level
            level = level.flatMap { prefix in segments.map { prefix + "." + $0 } }
        }
        return try all.map(TopicName.init)
    }

    static func allPatterns(maxSegments: Int, maxBytes: Int) throws -> [TopicPattern] {
        let pieces = literals + ["*"]
        var level = pieces
        var all = [">"]
        for depth in 1...maxSegments {
            level = level.filter { $0.utf8.count <= maxBytes }
            all += level
            if depth < maxSegments { all += level.map { $0 + ".>" }.filter { $0.utf8.count <= maxBytes } }
            level = level.flatMap { prefix in pieces.map { prefix + "." + $0 } }
        }
        return try all.map(TopicPattern.init)
    }

    static func randomPattern(maxSegments: Int, using random: inout SplitMix64) throws -> TopicPattern {
        let count = Int.random(in: 1...maxSegments, using: &random)
        let pieces = literals + ["*"]
        var segments = (0..<count).map { _ in pieces.randomElement(using: &random)! }
        if Bool.random(using: &random) { segments[count - 1] = ">" }
        return try TopicPattern(segments.joined(separator: "."))
    }
}
