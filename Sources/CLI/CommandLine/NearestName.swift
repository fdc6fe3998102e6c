/// The "did you mean" of an unknown option, subcommand or config key: a typo is the usual
/// reason for one.
public enum NearestName {
    /// The name among `names` within two edits of `unknown`, if any.
    public static func among(_ names: [String], to unknown: String) -> String? {
        let scored = names.map { (name: $0, distance: editDistance(Array(unknown), Array($0))) }
        guard let best = scored.min(by: { $0.distance < $1.distance }), best.distance <= 2 else { return nil }
        return best.name
    }

    /// Levenshtein distance, one row at a time.
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1]
            for (j, y) in b.enumerated() {
                current.append(Swift.min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
}
