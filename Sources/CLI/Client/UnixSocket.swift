import HeraldWire

#if canImport(Glibc)
    import Glibc
    private let streamSocket = Int32(SOCK_STREAM.rawValue)
    private let systemConnect = Glibc.connect
#elseif canImport(Musl)
    import Musl
    private let streamSocket = SOCK_STREAM
    private let systemConnect = Musl.connect
#endif

/// Blocking POSIX sockets for the command-line clients: a CLI talks to one broker at a
/// time and needs nothing of an event loop.
package enum UnixSocket {
    package struct Failure: Error, CustomStringConvertible {
        package let description: String
        package init(description: String) { self.description = description }
    }

    package static func connect(_ path: String) throws(Failure) -> Int32 {
        let descriptor = socket(AF_UNIX, streamSocket, 0)
        guard descriptor >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(descriptor)
            throw Failure(description: "socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { systemConnect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw Failure(description: "cannot reach the broker at \(path): \(reason)")
        }
        return descriptor
    }

    /// The process id of whatever answers on `path`, from the kernel (SO_PEERCRED): the
    /// bench reads the broker's memory with it.
    package static func peerPID(_ path: String) throws(Failure) -> Int32 {
        let descriptor = try connect(path)
        defer { close(descriptor) }
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; }, which Glibc hides without _GNU_SOURCE.
        var credentials: (pid: Int32, uid: UInt32, gid: UInt32) = (0, 0, 0)
        var length = socklen_t(MemoryLayout<(Int32, UInt32, UInt32)>.size)
        guard getsockopt(descriptor, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0 else {
            throw Failure(description: "SO_PEERCRED: \(String(cString: strerror(errno)))")
        }
        return credentials.pid
    }

    package static func writeAll(_ descriptor: Int32, _ bytes: [UInt8]) throws(Failure) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { send(descriptor, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if written < 0 {
                if errno == EINTR { continue }
                throw Failure(description: "the broker closed the connection: \(String(cString: strerror(errno)))")
            }
            offset += written
        }
    }
}

/// Buffered reads from a blocking socket: lines for the Unix-socket protocol, exact byte
/// counts for payloads and frames.
package struct SocketReader {
    package let descriptor: Int32
    private var buffer: [UInt8] = []
    private var start = 0

    package init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    private mutating func fill() throws(UnixSocket.Failure) {
        if start > 0 && start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        }
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress!, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw UnixSocket.Failure(description: "the broker closed the connection") }
            buffer.append(contentsOf: chunk[..<count])
            return
        }
    }

    /// A line without its CRLF or LF.
    package mutating func readLine() throws(UnixSocket.Failure) -> String {
        while true {
            if let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                var end = newline
                if end > start && buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                let line = String(decoding: buffer[start..<end], as: UTF8.self)
                start = newline + 1
                return line
            }
            try fill()
        }
    }

    /// The next line's bytes without CRLF or LF, or nil at the end of input; a last line
    /// without a newline still counts.
    package mutating func readLineBytes() throws(UnixSocket.Failure) -> [UInt8]? {
        while true {
            if let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                var end = newline
                if end > start && buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                let line = Array(buffer[start..<end])
                start = newline + 1
                return line
            }
            do {
                try fill()
            } catch {
                guard start < buffer.count else { return nil }
                let line = Array(buffer[start...])
                start = buffer.count
                return line
            }
        }
    }

    package mutating func readBytes(_ count: Int) throws(UnixSocket.Failure) -> [UInt8] {
        while buffer.count - start < count { try fill() }
        let bytes = Array(buffer[start..<(start + count)])
        start += count
        return bytes
    }
}
