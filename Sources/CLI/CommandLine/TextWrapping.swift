/// Help text fitted to a terminal: words fill each line up to `width` columns, and every
/// line after the first starts at `indent`, so a wrapped entry still reads as one.
enum TextWrapping {
    static let width = 80

    /// `words` after `prefix`, a space between two words on a line; a word longer than a
    /// line gets a line of its own.
    static func lines(_ words: [String], after prefix: String, indent: Int) -> [String] {
        let margin = String(repeating: " ", count: indent)
        var lines: [String] = []
        var line = prefix
        var lineHasWord = false
        for word in words where !word.isEmpty {
            if lineHasWord && line.count + 1 + word.count > width {
                lines.append(line)
                line = margin + word
            } else {
                line += (lineHasWord ? " " : "") + word
            }
            lineHasWord = true
        }
        lines.append(line)
        return lines
    }

    /// A paragraph of prose, its own line breaks kept.
    static func paragraph(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            lines(line.split(separator: " ").map(String.init), after: "", indent: 0).joined(separator: "\n")
        }.joined(separator: "\n")
    }
}
