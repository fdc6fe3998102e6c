/// How the program ends: what it prints, and its exit status.
public enum Termination: Equatable, Sendable {
    /// The command did its work.
    case success
    /// Help or the version, for standard output.
    case output(String)
    /// One line for standard error: `herald: …`.
    case failure(String, status: Int32)

    /// A failure to do the work (broker unreachable, refusal): 1, as before.
    public static let failureStatus: Int32 = 1

    public var status: Int32 {
        switch self {
        case .success, .output: 0
        case .failure(_, let status): status
        }
    }
}
