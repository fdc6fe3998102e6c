#if canImport(Glibc)
    import Glibc
    private let systemRead = Glibc.read
#elseif canImport(Musl)
    import Musl
    private let systemRead = Musl.read
#endif

/// Reads the small files settings name (the config file, keys, certificates) whole, with
/// an error that names the file and what it was for.
public enum FileContents {
    public static func read(_ path: String, purpose: String) throws(SettingsError) -> [UInt8] {
        func failure() -> SettingsError { SettingsError("cannot read \(purpose) \(path): \(String(cString: strerror(errno)))") }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure() }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { systemRead(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure()
            }
            if count == 0 { break }
            bytes += chunk[..<count]
        }
        return bytes
    }
}
