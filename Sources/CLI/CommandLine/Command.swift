/// A subcommand: its command line, declared once, and what it does with the values read
/// from it. The conforming type is itself those values, its fields set by the declaration.
public protocol Command: Sendable {
    /// The values before any argument is read; the help shows their defaults.
    init()
    static var declaration: CommandDeclaration<Self> { get }
    /// Throws `UsageError` for a command line found wrong only now (exit 64), any other
    /// error for a failure to do the work (exit 1).
    func run() async throws
}
