/// What a subscription asks for: a topic name whose segments may be `*` (exactly one
/// segment) or, last, `>` (one or more segments). PROTOCOL.md §2.
public struct TopicPattern: Hashable, Sendable, CustomStringConvertible {
    public enum Segment: Hashable, Sendable {
        case literal(String)
        case anySegment
        case anyRest
    }

    public let string: String
    public let segments: [Segment]

    public init(_ string: String) throws(TopicError) {
        let parts = try TopicSyntax.segments(of: string, allowWildcards: true)
        self.string = string
        self.segments = parts.map { part in
            switch part {
            case "*": .anySegment
            case ">": .anyRest
            default: .literal(String(part))
            }
        }
    }

    public init(_ name: TopicName) {
        self.string = name.string
        self.segments = name.segments.map { .literal(String($0)) }
    }

    /// The topic name this pattern spells when it has no wildcard.
    public var exactName: TopicName? {
        segments.allSatisfy({ if case .literal = $0 { true } else { false } }) ? try? TopicName(string) : nil
    }

    public func matches(_ topic: TopicName) -> Bool {
        let names = topic.segments
        for (index, segment) in segments.enumerated() {
            switch segment {
            case .anyRest:
                return names.count > index
            case .anySegment:
                guard index < names.count else { return false }
            case .literal(let literal):
                guard index < names.count, names[index] == literal else { return false }
            }
        }
        return names.count == segments.count
    }

    public var description: String { string }
}
