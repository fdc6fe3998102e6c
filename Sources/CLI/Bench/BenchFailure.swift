/// Why a measurement stopped: `herald: ` and this line on standard error, exit status 1.
struct BenchFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
