import Foundation
import HeraldRedis
import NIOCore
import NIOPosix

/// A throwaway `redis-server` on a free loopback port (and a unix socket) in its own temp
/// directory, persisting nothing. It runs under `timeout`, so that a test run that crashes
/// cannot leave it behind for more than a few minutes.
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
    private let process: Process

    private init(port: Int, directory: String, process: Process) {
        self.port = port
        self.directory = directory
        self.process = process
    }

    static func start(_ extraArguments: [String] = []) async throws -> RedisServer {
        guard let executable else { throw Failure("redis-server is not installed") }
        let directory = FileManager.default.temporaryDirectory.path + "/herald-redis-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // A port found free can be taken by someone else before Redis binds it: try again.
        for _ in 0..<5 {
            let port = try await freePort()
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
            process.arguments = ["-k", "5", "600", executable,
                "--port", String(port), "--bind", "127.0.0.1",
                "--unixsocket", directory + "/redis.sock", "--unixsocketperm", "700",
                "--save", "", "--appendonly", "no", "--dir", directory,
                "--logfile", directory + "/redis.log",
            ] + extraArguments
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            let server = RedisServer(port: port, directory: directory, process: process)
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
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        if removingDirectory { try? FileManager.default.removeItem(atPath: directory) }
    }

    private func waitUntilListening() async throws -> Bool {
        for _ in 0..<200 {
            guard process.isRunning else { return false }
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
