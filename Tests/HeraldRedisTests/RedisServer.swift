import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif
import HeraldRedis
import NIOCore
import NIOPosix

/// A throwaway `redis-server` on a free loopback port (and a unix socket) in its own temp
/// directory, persisting nothing. It runs under `timeout`, so that a test run that crashes
/// cannot leave it behind for more than a few minutes.
///
/// Started with posix_spawn rather than Foundation's Process: the test process's threads
/// block SIGTERM (libdispatch does), Process hands that mask down, and a server that
/// ignores SIGTERM (and a `timeout` that cannot forward it) never stops.
final class RedisServer: @unchecked Sendable {
    static let executable: String? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let directories = path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/local/bin", "/usr/sbin"]
        return directories.map { $0 + "/redis-server" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    static var isInstalled: Bool { executable != nil }

    let port: Int
    let directory: String
    var socketPath: String { directory + "/redis.sock" }
    var tcpURL: String { "redis://127.0.0.1:\(port)" }
    /// The `timeout` process, whose child is Redis.
    private let pid: pid_t
    private var exited = false

    private init(port: Int, directory: String, pid: pid_t) {
        self.port = port
        self.directory = directory
        self.pid = pid
    }

    static func start(_ extraArguments: [String] = []) async throws -> RedisServer {
        guard let executable else { throw Failure("redis-server is not installed") }
        let directory = FileManager.default.temporaryDirectory.path + "/herald-redis-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // A port found free can be taken by someone else before Redis binds it: try again.
        for _ in 0..<5 {
            let port = try await freePort()
            let arguments =
                [
                    "-k", "5", "600", executable,
                    "--port", String(port), "--bind", "127.0.0.1",
                    "--unixsocket", directory + "/redis.sock", "--unixsocketperm", "700",
                    "--save", "", "--appendonly", "no", "--dir", directory,
                    "--logfile", directory + "/redis.log",
                ] + extraArguments
            let server = RedisServer(port: port, directory: directory, pid: try spawn("/usr/bin/timeout", arguments))
            if try await server.waitUntilListening() { return server }
            server.stop(removingDirectory: false)
        }
        throw Failure("redis-server did not start; see \(directory)/redis.log")
    }

    /// Stops the server (if still running) and waits for it to exit.
    func stop() {
        stop(removingDirectory: true)
    }

    private func stop(removingDirectory: Bool) {
        if !hasExited() {
            kill(pid, SIGTERM)
            for _ in 0..<100 where !hasExited() { usleep(50_000) }
            if !hasExited() {
                kill(pid, SIGKILL)
                var status: Int32 = 0
                waitpid(pid, &status, 0)
                exited = true
            }
        }
        if removingDirectory { try? FileManager.default.removeItem(atPath: directory) }
    }

    private func hasExited() -> Bool {
        guard !exited else { return true }
        var status: Int32 = 0
        exited = waitpid(pid, &status, WNOHANG) == pid
        return exited
    }

    private func waitUntilListening() async throws -> Bool {
        for _ in 0..<200 {
            guard !hasExited() else { return false }
            if let channel = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: port).get()
            {
                try? await channel.close().get()
                // The unix socket is bound right after TCP; wait for it too.
                if FileManager.default.fileExists(atPath: socketPath) { return true }
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    private static func spawn(_ path: String, _ arguments: [String]) throws -> pid_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        posix_spawnattr_setsigmask(&attributes, &unblocked)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGALRM, SIGPIPE] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var files = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&files)
        defer { posix_spawn_file_actions_destroy(&files) }
        posix_spawn_file_actions_addopen(&files, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&files, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&files, 2, "/dev/null", O_WRONLY, 0)

        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid = pid_t()
        let result = posix_spawn(&pid, path, &files, &attributes, argv, environ)
        guard result == 0 else { throw Failure("posix_spawn \(path) failed: \(result)") }
        return pid
    }

    private static func freePort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress!.port!
        try await channel.close().get()
        return port
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
