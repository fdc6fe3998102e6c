import Atomics
import Logging

/// The log level every handler of the process reads, so that SIGHUP can change it for
/// loggers that were made long before (each `Logger` copies its handler by value).
final class LogLevelSwitch: Sendable {
    private let raw: ManagedAtomic<Int>

    init(_ level: Logger.Level) {
        raw = ManagedAtomic(Self.levels.firstIndex(of: level)!)
    }

    var level: Logger.Level {
        get { Self.levels[raw.load(ordering: .relaxed)] }
        set { raw.store(Self.levels.firstIndex(of: newValue)!, ordering: .relaxed) }
    }

    private static let levels = Logger.Level.allCases
}
