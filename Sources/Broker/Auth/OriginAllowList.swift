/// The `--allowed-origin` entries (PROTOCOL.md §7), checked against a handshake's `Origin`.
///
/// An entry is `scheme://host[:port]`, compared exactly except that scheme and host ignore
/// case and an absent port is the scheme's default (`https://a.com` is
/// `https://a.com:443`). `https://*.example.com` allows every name below example.com
/// (`a.example.com`, `a.b.example.com`), not example.com itself.
public struct OriginAllowList: Sendable {
    private let entries: [Origin]

    /// Parses the entries, refusing the first malformed one.
    public init(entries: [String]) throws(OriginError) {
        self.entries = try entries.map { entry throws(OriginError) in try Origin.parse(entry, allowWildcard: true).get() }
    }

    /// No entries: the check is off and every origin is allowed.
    public var isEmpty: Bool { entries.isEmpty }

    /// Whether a request with this `Origin` header may go on. A malformed origin, and the
    /// opaque `null` of sandboxed pages and local files, are allowed only when the list is
    /// empty. Requests without the header are the caller's to let through.
    public func allows(origin: String) -> Bool {
        if entries.isEmpty { return true }
        guard case .success(let candidate) = Origin.parse(origin, allowWildcard: false) else { return false }
        return entries.contains { entry in
            guard entry.scheme == candidate.scheme, entry.port == candidate.port else { return false }
            return entry.isWildcard ? candidate.host.hasSuffix("." + entry.host) : candidate.host == entry.host
        }
    }
}

/// A malformed `--allowed-origin` entry, as one line for the person who typed it.
public struct OriginError: Error, Equatable, Sendable, CustomStringConvertible {
    public let entry: String
    public let reason: String

    public var description: String { "invalid --allowed-origin '\(entry)': \(reason)" }
}
