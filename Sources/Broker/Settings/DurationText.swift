/// Durations as PROTOCOL.md §1 writes them: seconds as a bare number (`30`, `0.5`) or numbers
/// with units (`250ms`, `30s`, `15m`, `1h`). Like Go's `time.ParseDuration`, units may be
/// combined (`1h30m`, `1m30s`), but only from the largest down and each once, so that a
/// typo such as `30s1h` is refused rather than read as 3630 seconds.
public enum DurationText {
    /// Milliseconds divide rather than multiply by 0.001, so that `250ms` is exactly 0.25.
    private static let units: [(suffix: String, multiplier: Double, divisor: Double)] = [
        ("h", 3600, 1), ("m", 60, 1), ("s", 1, 1), ("ms", 1, 1000),
    ]

    public static func seconds(_ text: String) -> Double? {
        var rest = Substring(text)
        let negative = rest.first == "-"
        if negative { rest = rest.dropFirst() }
        if let bare = decimal(rest) { return negative ? -bare : bare }

        var total = 0.0
        var firstAllowed = 0
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            rest = rest.dropFirst(digits.count)
            let suffix = rest.prefix { $0.isASCII && $0.isLetter }
            rest = rest.dropFirst(suffix.count)
            guard let number = decimal(digits),
                let unit = units[firstAllowed...].firstIndex(where: { $0.suffix == suffix })
            else { return nil }
            total += number * units[unit].multiplier / units[unit].divisor
            firstAllowed = unit + 1
        }
        guard firstAllowed > 0 else { return nil }
        return negative ? -total : total
    }

    /// `3600` → `1h`, `90` → `90s`, `0.25` → `250ms`, `1.5` → `1.5s`.
    static func text(_ seconds: Double) -> String {
        if seconds == 0 { return "0s" }
        for (suffix, multiplier, _) in units.dropLast() {
            let count = seconds / multiplier
            if count == count.rounded(), abs(count) < 1e15 { return "\(Int(count))\(suffix)" }
        }
        let milliseconds = seconds * 1000
        if abs(seconds) < 1, abs(milliseconds - milliseconds.rounded()) < 1e-9 {
            return "\(Int(milliseconds.rounded()))ms"
        }
        return "\(seconds)s"
    }

    /// Digits with at most one decimal point: no sign, exponent, `inf` or `nan`, all of
    /// which `Double.init` would take.
    private static func decimal(_ text: Substring) -> Double? {
        guard text.contains(where: \.isNumber),
            text.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
            text.filter({ $0 == "." }).count <= 1
        else { return nil }
        return Double(text)
    }
}
