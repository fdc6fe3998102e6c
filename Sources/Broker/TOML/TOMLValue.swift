/// A TOML value. Dates and times have no case: documents holding them are refused.
/// Equality is Swift's: floats compare as Double does, so a NaN differs even from itself.
public enum TOMLValue: Equatable, Sendable {
    case string(String)
    case integer(Int64)
    case float(Double)
    case boolean(Bool)
    /// TOML 1.0 lets one array mix value types, so elements are not constrained.
    case array([TOMLValue])
    case table(TOMLTable)
}
