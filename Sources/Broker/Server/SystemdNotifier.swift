#if canImport(Glibc)
    import Glibc
    private let datagramSocket = Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
#elseif canImport(Musl)
    import Musl
    private let datagramSocket = SOCK_DGRAM | SOCK_CLOEXEC
#endif

/// systemd's readiness protocol (`sd_notify(3)`) without libsystemd: one datagram, such as
/// `READY=1` or `STOPPING=1`, to the Unix socket that `$NOTIFY_SOCKET` names. A name that
/// starts with `@` is in the abstract namespace. Without `$NOTIFY_SOCKET` (not started by
/// systemd, or not `Type=notify`) it does nothing, and a datagram that cannot be sent is
/// dropped: the broker runs the same either way.
package enum SystemdNotifier {
    /// Sends `state`, one or more `NAME=value` lines, to the service manager.
    package static func notify(_ state: String) {
        guard let pointer = getenv("NOTIFY_SOCKET") else { return }
        send(state, to: String(cString: pointer))
    }

    /// Sends `state` to the socket named `name` (a path, or `@` and an abstract name).
    static func send(_ state: String, to name: String) {
        guard var address = address(name) else { return }
        let descriptor = socket(AF_UNIX, datagramSocket, 0)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        var bytes = Array(state.utf8)
        let length = address.length
        _ = withUnsafePointer(to: &address.storage) { storage in
            storage.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bytes.withUnsafeMutableBytes { buffer in
                    sendto(descriptor, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL), socketAddress, length)
                }
            }
        }
    }

    /// The `sockaddr_un` for `name` and the length to pass with it; nil for a name that is
    /// neither an absolute path nor `@…`, or too long for `sun_path`.
    static func address(_ name: String) -> (storage: sockaddr_un, length: socklen_t)? {
        var path = Array(name.utf8)
        let abstract = path.first == UInt8(ascii: "@")
        guard abstract || path.first == UInt8(ascii: "/") else { return nil }
        // An abstract name starts with a zero byte and has no terminator; a path ends with one.
        if abstract { path[0] = 0 } else { path.append(0) }
        var storage = sockaddr_un()
        storage.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: storage.sun_path)
        guard path.count <= capacity, path.count > 1 else { return nil }
        withUnsafeMutableBytes(of: &storage.sun_path) { sunPath in
            sunPath.copyBytes(from: path)
        }
        let offset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)!
        return (storage, socklen_t(offset + path.count))
    }
}
