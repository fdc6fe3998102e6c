/// The "did you mean" of an unknown option or key: typos of long option names are the
/// usual reason for one.
enum Suggestion {
    /// The declared name within two edits of `unknown` (written with dashes), if any.
    static func closestName(to unknown: String) -> String? {
        let scored = SettingDeclaration.all.map { (name: $0.name, distance: editDistance(Array(unknown), Array($0.name))) }
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
