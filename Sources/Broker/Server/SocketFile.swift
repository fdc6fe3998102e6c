import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The Unix socket's file: a stale one left by a dead broker is replaced; one a live broker
/// answers on, or a file that is not a socket, is left alone and refused.
enum SocketFile {
    static func prepare(_ path: String, group: any EventLoopGroup) async throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            throw HeraldServer.StartError(description: "\(path) exists and is not a socket; not replacing it")
        }
        if await answers(path, group: group) {
            throw HeraldServer.StartError(description: "another broker is answering on \(path)")
        }
        guard unlink(path) == 0 else {
            throw HeraldServer.StartError(description: "cannot remove stale socket \(path): \(String(cString: strerror(errno)))")
        }
    }

    static func remove(_ path: String) {
        var info = stat()
        if lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFSOCK { unlink(path) }
    }

    /// Whether something accepts connections on `path`.
    static func answers(_ path: String, group: any EventLoopGroup) async -> Bool {
        guard let channel = try? await ClientBootstrap(group: group).connect(unixDomainSocketPath: path).get() else { return false }
        try? await channel.close()
        return true
    }
}
