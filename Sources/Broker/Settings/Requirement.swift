/// A bound a setting's value must keep, worded as the old `validate()` worded it.
struct Requirement<Value>: Sendable {
    /// Follows the option's name: `must be 0 or more`.
    let phrase: String
    let holds: @Sendable (Value) -> Bool
}

extension Requirement where Value: Comparable & ExpressibleByIntegerLiteral & Sendable {
    static var bePositive: Self { Self(phrase: "must be positive") { $0 > 0 } }
    static var beNonNegative: Self { Self(phrase: "must be 0 or more") { $0 >= 0 } }
    static func beAtLeast(_ minimum: Value) -> Self { Self(phrase: "must be at least \(minimum)") { $0 >= minimum } }
    static func beWithin(_ range: ClosedRange<Value>) -> Self {
        Self(phrase: "must be \(range.lowerBound) to \(range.upperBound)") { range.contains($0) }
    }
}
