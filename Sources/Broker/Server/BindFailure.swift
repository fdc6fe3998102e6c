import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Why a listener could not be opened, in the user's terms and naming what was asked for:
/// NIO's own text (`bind(descriptor:ptr:bytes:): Address already in use) (errno: 98)`) names
/// its internals instead.
enum BindFailure {
    static func listener(_ error: any Error, host: String, port: Int) -> String {
        let address = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        guard let errno = (error as? IOError)?.errnoCode else { return "cannot listen on \(address): \(error)" }
        switch errno {
        case EADDRINUSE: return "cannot listen on \(address): the address is in use (is another herald running? --listen picks another)"
        case EACCES: return "cannot listen on \(address): permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)"
        case EADDRNOTAVAIL: return "cannot listen on \(address): no such address on this machine"
        default: return "cannot listen on \(address): \(String(cString: strerror(errno)))"
        }
    }

    static func socket(_ error: any Error, path: String) -> String {
        guard let errno = (error as? IOError)?.errnoCode else { return "cannot create the socket \(path): \(error)" }
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        switch errno {
        case ENOENT, ENOTDIR: return "cannot create the socket \(path): directory \(directory.isEmpty ? "/" : directory) does not exist"
        case EACCES, EROFS: return "cannot create the socket \(path): no permission to write in \(directory.isEmpty ? "/" : directory)"
        case EADDRINUSE: return "cannot create the socket \(path): the path is in use"
        default: return "cannot create the socket \(path): \(String(cString: strerror(errno)))"
        }
    }
}
