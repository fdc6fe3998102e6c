import HeraldClient
import HeraldServer
import HeraldCommandLine
import Dispatch
import HeraldSettings
import Logging

#if canImport(Glibc)
    import Glibc
    private let openFilesResource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
#elseif canImport(Musl)
    import Musl
    private let openFilesResource = RLIMIT_NOFILE
#endif

struct ServeCommand: Command {
    /// The options are handed to `HeraldSettings`, which declares every one once for the
    /// flags, the config file, the help text and reload alike.
    static let declaration = CommandDeclaration<Self>(
        name: "serve",
        abstract: "Run the broker.",
        discussion: "Every option is also a key of the TOML file given with --config (dashes or underscores); flags win over the file.",
        usage: "[--listen HOST:PORT] [--socket PATH] [--config FILE] [options]",
        handingArgumentsTo: \.options,
        optionsHelp: Settings.helpText
    )

    var options: [String] = []

    func run() async throws {
        let source = SettingsSource(arguments: options, environment: ProcessEnvironment.variables)
        let settings: Settings
        do throws(SettingsError) {
            settings = try Settings.load(source).settings
        } catch  where error.origin == .commandLine {
            throw UsageError(error.description)
        } catch {
            fail("\(error)")
        }
        let levelSwitch = LogLevelSwitch(settings.logLevel)
        let format = settings.logFormat
        LoggingSystem.bootstrap { label in StandardErrorLogHandler(label: label, format: format, levelSwitch: levelSwitch) }
        let logger = Logger(label: "herald")
        Self.raiseOpenFileLimit()
        let signals = SignalWaiter(signals: [SIGINT, SIGTERM, SIGHUP])
        let server: HeraldServer
        do {
            server = try await HeraldServer.start(settings: settings, logger: logger)
        } catch {
            fail("\(error)")
        }
        logger.info("settings in force", metadata: Logger.Metadata(uniqueKeysWithValues: settings.summary.map { ($0.name, "\($0.value)") }))
        printFlushed(server.readyLine)
        SystemdNotifier.notify("READY=1")
        while await signals.wait() == SIGHUP {
            logger.info("SIGHUP: reloading")
            do {
                let reloaded = try Settings.load(source).settings
                try server.reload(reloaded)
                levelSwitch.level = reloaded.logLevel
            } catch {
                logger.error("reload refused, settings unchanged", metadata: ["reason": "\(error)"])
            }
        }
        SystemdNotifier.notify("STOPPING=1")
        await server.shutdown()
    }

    /// Each connection is a file descriptor, and many systems start processes with a soft
    /// limit of 1024: take the hard limit, as servers of this kind do.
    static func raiseOpenFileLimit() {
        var limits = rlimit()
        guard getrlimit(openFilesResource, &limits) == 0, limits.rlim_cur < limits.rlim_max else { return }
        limits.rlim_cur = limits.rlim_max
        _ = setrlimit(openFilesResource, &limits)
    }
}

/// Waits for signals, one at a time. The handlers are installed with `sigaction`
/// before `init` returns, so a signal sent as soon as the ready line is out is never lost
/// (a dispatch signal source arms itself asynchronously and can miss it); the handler
/// only writes a byte to a pipe, and `wait` reads it off the signal context.
final class SignalWaiter: Sendable {
    private let readEnd: Int32

    init(signals: [Int32]) {
        var ends: [Int32] = [0, 0]
        precondition(pipe(&ends) == 0, "pipe: \(errno)")
        readEnd = ends[0]
        signalPipeWriteEnd = ends[1]
        for number in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                var byte = UInt8(truncatingIfNeeded: number)
                _ = write(signalPipeWriteEnd, &byte, 1)
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(number, &action, nil)
        }
    }

    /// The next signal that arrived.
    func wait() async -> Int32 {
        let descriptor = readEnd
        return await withCheckedContinuation { (continuation: CheckedContinuation<Int32, Never>) in
            DispatchQueue.global().async {
                var byte: UInt8 = 0
                while read(descriptor, &byte, 1) < 0 && errno == EINTR {}
                continuation.resume(returning: Int32(byte))
            }
        }
    }
}

/// Written only once, before any handler is installed; read by the signal handler.
nonisolated(unsafe) private var signalPipeWriteEnd: Int32 = -1
