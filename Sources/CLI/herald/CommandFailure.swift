#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Failures of every subcommand to do its work: one line on standard error, exit status 1.
/// (A command line herald cannot act on is a `UsageError` instead, exit status 64.)
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Ends the process at once as a `CommandFailure` would end it: its line, exit status 1.
func fail(_ message: String) -> Never {
    var line = "herald: " + message + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    exit(1)
}
