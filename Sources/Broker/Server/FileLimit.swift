#if canImport(Glibc)
    import Glibc
    private let openFilesResource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
#elseif canImport(Musl)
    import Musl
    private let openFilesResource = RLIMIT_NOFILE
#endif

/// How many files the process may have open: each connection is one.
enum FileLimit {
    static func current() -> Int {
        var limits = rlimit()
        guard getrlimit(openFilesResource, &limits) == 0, limits.rlim_cur != rlim_t.max else { return Int.max / 2 }
        return Int(limits.rlim_cur)
    }
}
