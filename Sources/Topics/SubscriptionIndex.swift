/// Which subscribers' patterns match a published topic.
///
/// A trie over pattern segments, walked along every branch that can match (literal, `*`,
/// and `>` at each depth), as mosquitto's `subs.c` does. Matching costs grow with the
/// topic's depth and the number of matching subscriptions, not with unrelated ones.
///
/// Not thread-safe: the broker keeps one index on the event loop that owns its state.
public struct SubscriptionIndex<Subscriber: Hashable> {
    @usableFromInline final class Node {
        @usableFromInline var literals: [String: Node] = [:]
        @usableFromInline var anySegment: Node?
        /// Subscribers whose pattern ends here with a literal or `*` segment.
        @usableFromInline var exact: Set<Subscriber> = []
        /// Subscribers whose pattern ends here with `>`.
        @usableFromInline var rest: Set<Subscriber> = []

        var isEmpty: Bool { literals.isEmpty && anySegment == nil && exact.isEmpty && rest.isEmpty }

        func literalChild(_ literal: String) -> Node {
            if let child = literals[literal] { return child }
            let child = Node()
            literals[literal] = child
            return child
        }

        func anySegmentChild() -> Node {
            if let child = anySegment { return child }
            let child = Node()
            anySegment = child
            return child
        }
    }

    @usableFromInline var root = Node()
    /// The number of (pattern, subscriber) pairs held.
    public private(set) var count = 0

    public init() {}

    /// Adds `subscriber` under `pattern`; returns false when it was already there.
    @discardableResult
    public mutating func insert(_ pattern: TopicPattern, for subscriber: Subscriber) -> Bool {
        var node = root
        for segment in pattern.segments {
            switch segment {
            case .literal(let literal):
                node = node.literalChild(literal)
            case .anySegment:
                node = node.anySegmentChild()
            case .anyRest:
                let inserted = node.rest.insert(subscriber).inserted
                if inserted { count += 1 }
                return inserted
            }
        }
        let inserted = node.exact.insert(subscriber).inserted
        if inserted { count += 1 }
        return inserted
    }

    /// Removes `subscriber` from `pattern`; returns false when it was not there. Empty
    /// branches are pruned so that churn does not leave memory behind.
    @discardableResult
    public mutating func remove(_ pattern: TopicPattern, for subscriber: Subscriber) -> Bool {
        let removed = Self.remove(pattern.segments[...], subscriber, from: root)
        if removed { count -= 1 }
        return removed
    }

    private static func remove(_ segments: ArraySlice<TopicPattern.Segment>, _ subscriber: Subscriber, from node: Node) -> Bool {
        guard let segment = segments.first else { return node.exact.remove(subscriber) != nil }
        switch segment {
        case .anyRest:
            return node.rest.remove(subscriber) != nil
        case .anySegment:
            guard let child = node.anySegment, remove(segments.dropFirst(), subscriber, from: child) else { return false }
            if child.isEmpty { node.anySegment = nil }
            return true
        case .literal(let literal):
            guard let child = node.literals[literal], remove(segments.dropFirst(), subscriber, from: child) else {
                return false
            }
            if child.isEmpty { node.literals[literal] = nil }
            return true
        }
    }

    /// Calls `body` once for every (pattern, subscriber) pair that matches `topic`. A
    /// subscriber with several matching patterns is reported once per pattern; callers
    /// that deliver must deduplicate. Inlinable so that the broker's fan-out gets a copy
    /// specialized for its subscriber type, which copies each subscriber and calls `body`
    /// directly rather than through generic value witnesses.
    @inlinable
    public func forEachMatch(_ topic: TopicName, _ body: (Subscriber) throws -> Void) rethrows {
        let segments = topic.segments
        try Self.walk(root, segments, 0, body)
    }

    @inlinable
    static func walk(_ node: Node, _ segments: [Substring], _ depth: Int, _ body: (Subscriber) throws -> Void) rethrows {
        if depth == segments.count {
            for subscriber in node.exact { try body(subscriber) }
            return
        }
        for subscriber in node.rest { try body(subscriber) }
        if let child = node.literals[String(segments[depth])] { try walk(child, segments, depth + 1, body) }
        if let child = node.anySegment { try walk(child, segments, depth + 1, body) }
    }

    /// The distinct subscribers matching `topic`.
    public func subscribers(matching topic: TopicName) -> Set<Subscriber> {
        var result = Set<Subscriber>()
        forEachMatch(topic) { result.insert($0) }
        return result
    }
}
