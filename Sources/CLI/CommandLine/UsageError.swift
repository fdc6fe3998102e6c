/// A command line the program cannot act on: an unknown subcommand or option, a missing
/// argument or value, a value of the wrong kind. It ends the program with `exitStatus`
/// and one line naming what is wrong, never the whole usage text.
public struct UsageError: Error, Equatable, Sendable, CustomStringConvertible {
    /// EX_USAGE of sysexits(3), which scripts (and swift-argument-parser before) expect.
    public static let exitStatus: Int32 = 64

    /// E.g. `--subscribers takes a whole number, not 'x'`.
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
