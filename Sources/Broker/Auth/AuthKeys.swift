import Digest

/// The HS256 keys of `--auth-secret-file` (PROTOCOL.md §7): each non-empty line that does not
/// start with `#` is one key, tried in file order, so keys rotate by adding the new line
/// first and removing the old one later.
///
/// A key is the raw bytes of its line, without the line break and trailing spaces, tabs
/// or CR (a UTF-8 byte order mark before the first line is dropped too): not base64 or hex
/// decoded, as Centrifugo and most JWT libraries take an HMAC secret, so the same line
/// works with any of them given the same text.
public struct AuthKeys: Sendable {
    /// Each key with its HMAC pads already hashed (RFC 2104 §4): a verification costs two
    /// compressions less.
    let keys: [HMACSHA256]

    /// 1-based line numbers of keys shorter than the 32 bytes RFC 7518 §3.2 asks of an HS256
    /// key: accepted, but worth a warning in the log.
    public let shortKeyLines: [Int]

    /// How many keys the file holds.
    public var count: Int { keys.count }

    /// Parses the file's contents; throws when no line is a key.
    public init(parsing contents: some Collection<UInt8>) throws(AuthKeysError) {
        var keys: [HMACSHA256] = []
        var shortKeyLines: [Int] = []
        var bytes = Array(contents)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }  // a UTF-8 BOM from an editor
        for (index, line) in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            var key = line[...]
            while let last = key.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") || last == UInt8(ascii: "\r") {
                key.removeLast()
            }
            guard !key.isEmpty, key.first != UInt8(ascii: "#") else { continue }
            keys.append(HMACSHA256(key: key))
            if key.count < 32 { shortKeyLines.append(index + 1) }
        }
        guard !keys.isEmpty else { throw AuthKeysError() }
        self.keys = keys
        self.shortKeyLines = shortKeyLines
    }

    /// Parses the file's text; see `init(parsing:)` for bytes.
    public init(parsing text: String) throws(AuthKeysError) {
        try self.init(parsing: Array(text.utf8))
    }

    /// The key that signs new tokens: the file's first.
    var signingKey: HMACSHA256 { keys[0] }
}

/// A secret file without a key. Never says anything about the file's contents.
public struct AuthKeysError: Error, Equatable, Sendable, CustomStringConvertible {
    public init() {}

    public var description: String { "the secret file holds no key: every line is empty or a # comment" }
}
