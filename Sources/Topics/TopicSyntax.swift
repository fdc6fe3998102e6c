/// The shared rules of PROTOCOL.md §2 for names and patterns.
enum TopicSyntax {
    static let maxBytes = 255
    static let maxSegments = 16

    static func isSegmentByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"),
            UInt8(ascii: ":"), UInt8(ascii: "@"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// Splits `text` on dots after checking length and segment count. `allowWildcards`
    /// admits `*` as any segment and `>` as the last.
    static func segments(of text: String, allowWildcards: Bool) throws(TopicError) -> [Substring] {
        func fail(_ reason: String) -> TopicError { TopicError(input: text, reason: reason) }
        let byteCount = text.utf8.count
        guard byteCount > 0 else { throw fail("a topic must not be empty") }
        guard byteCount <= maxBytes else {
            throw fail("a topic is at most \(maxBytes) bytes, this one is \(byteCount)")
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= maxSegments else {
            throw fail("a topic has at most \(maxSegments) segments, this one has \(parts.count)")
        }
        for (index, part) in parts.enumerated() {
            let position = "segment \(index + 1)"
            guard !part.isEmpty else { throw fail("\(position) is empty (no leading, trailing or double dots)") }
            if part == "*" || part == ">" {
                guard allowWildcards else {
                    throw fail("\(position) is the wildcard '\(part)', which only subscriptions may use")
                }
                guard part == "*" || index == parts.count - 1 else {
                    throw fail("'>' may only be the last segment, here it is \(position)")
                }
                continue
            }
            if let bad = part.utf8.first(where: { !isSegmentByte($0) }) {
                let shown = bad < 0x80 && bad >= 0x20 ? "'\(Character(Unicode.Scalar(bad)))'" : "a non-ASCII or control byte"
                throw fail("\(position) '\(part)' contains \(shown); allowed are ASCII letters, digits and _ - : @ ~")
            }
        }
        return parts
    }
}
