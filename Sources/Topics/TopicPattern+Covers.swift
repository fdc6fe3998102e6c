extension TopicPattern {
    /// Whether every topic name that `other` matches, this pattern matches too (PROTOCOL.md §7:
    /// a granted pattern covers a requested one). `prices.>` covers `prices.AAPL`,
    /// `prices.*` and `prices.us.>`; `prices.*` covers `prices.AAPL` but not `prices.>`.
    ///
    /// Exact over the names that can exist: a trailing `>` that has room for only one more
    /// segment under the 16-segment and 255-byte limits means no more than `*` there, so a
    /// 16-segment `a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.*` covers `a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.>`.
    public func covers(_ other: TopicPattern) -> Bool {
        covers(other, maxSegments: TopicSyntax.maxSegments, maxBytes: TopicSyntax.maxBytes)
    }

    /// `covers(_:)` under other limits, so that a test can check the limit rule against
    /// every name of a universe small enough to enumerate.
    package func covers(_ other: TopicPattern, maxSegments: Int, maxBytes: Int) -> Bool {
        let requested = other.effectiveSegments(maxSegments: maxSegments, maxBytes: maxBytes)
        for (index, granted) in segments.enumerated() {
            switch granted {
            case .anyRest:
                // Whatever `requested` has from here on stands for at least one segment.
                return requested.count > index
            case .anySegment:
                guard index < requested.count, requested[index] != .anyRest else { return false }
            case .literal:
                guard index < requested.count, requested[index] == granted else { return false }
            }
        }
        return requested.count == segments.count
    }

    /// The segments with a trailing `>` read as `*` when no name matching this pattern can
    /// have two segments in its place. Every wildcard stands for at least one byte, so the
    /// shortest names this pattern matches are exactly as long as its text.
    private func effectiveSegments(maxSegments: Int, maxBytes: Int) -> [Segment] {
        guard segments.last == .anyRest else { return segments }
        let roomForTwo = segments.count + 1 <= maxSegments && string.utf8.count + 2 <= maxBytes
        return roomForTwo ? segments : segments.dropLast() + [.anySegment]
    }
}
