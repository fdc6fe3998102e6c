/// A key compared scalar by scalar. Swift's String equality treats canonically equivalent
/// text ("é" and "e\u{301}") as equal, but TOML keys are distinct whenever their code points
/// differ, so merging them would report false duplicates and lose values.
struct ExactKey: Hashable {
    let text: String

    init(_ text: String) {
        self.text = text
    }

    static func == (lhs: ExactKey, rhs: ExactKey) -> Bool {
        lhs.text.utf8.elementsEqual(rhs.text.utf8)
    }

    func hash(into hasher: inout Hasher) {
        var text = text
        text.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}
