/// The server side of RFC 7692 negotiation: what herald is willing to agree to, and the
/// choice among a client's offers.
public struct DeflateNegotiator: Sendable {
    /// The largest window the server compresses with, 9...15. zlib cannot emit raw
    /// deflate limited to a 256-byte window, so 8 is not a choice.
    public var serverMaxWindowBits: Int
    /// Reset the compressor after every message even when the client did not ask. This is
    /// what lets one compressor serve every idle connection on a loop and lets a fanned-out
    /// message be compressed once.
    public var forceServerNoContextTakeover: Bool
    /// Ask the client to reset its compressor after every message, so that the server can
    /// inflate every connection's messages with one shared decompressor.
    public var forceClientNoContextTakeover: Bool
    /// When set and the client allows it, limit the client's window to this many bits.
    public var clientMaxWindowBits: Int?

    public init(
        serverMaxWindowBits: Int = 15,
        forceServerNoContextTakeover: Bool = true,
        forceClientNoContextTakeover: Bool = true,
        clientMaxWindowBits: Int? = nil
    ) {
        precondition((9...15).contains(serverMaxWindowBits), "server window must be 9...15 bits")
        precondition(clientMaxWindowBits.map { (8...15).contains($0) } ?? true, "client window must be 8...15 bits")
        self.serverMaxWindowBits = serverMaxWindowBits
        self.forceServerNoContextTakeover = forceServerNoContextTakeover
        self.forceClientNoContextTakeover = forceClientNoContextTakeover
        self.clientMaxWindowBits = clientMaxWindowBits
    }

    /// The agreement for the first offer that can be honoured, or nil to decline them all
    /// (the handshake then goes on without compression).
    public func negotiate(headerValues: [String]) -> DeflateParameters? {
        for case let offer? in ExtensionOffer.parse(headerValues: headerValues) {
            if let accepted = accept(offer) { return accepted }
        }
        return nil
    }

    /// The agreement for one offer, or nil when it is not permessage-deflate or has an
    /// unknown, repeated or out-of-range parameter.
    public func accept(_ offer: ExtensionOffer) -> DeflateParameters? {
        guard offer.name == "permessage-deflate" else { return nil }
        var seen = Set<String>()
        var serverNoTakeover = false
        var clientNoTakeover = false
        var serverWindowRequested: Int?
        var clientWindowAllowed = false
        var clientWindowLimit = 15
        for parameter in offer.parameters {
            guard seen.insert(parameter.name).inserted else { return nil }
            switch parameter.name {
            case "server_no_context_takeover":
                guard parameter.value == nil else { return nil }
                serverNoTakeover = true
            case "client_no_context_takeover":
                guard parameter.value == nil else { return nil }
                clientNoTakeover = true
            case "server_max_window_bits":
                guard let bits = parameter.value.flatMap(Self.windowBits) else { return nil }
                serverWindowRequested = bits
            case "client_max_window_bits":
                clientWindowAllowed = true
                if let value = parameter.value {
                    guard let bits = Self.windowBits(value) else { return nil }
                    clientWindowLimit = bits
                }
            default:
                return nil
            }
        }

        var agreed = DeflateParameters()
        if let requested = serverWindowRequested {
            // zlib's smallest raw-deflate window is 9 bits; promising 8 would be a lie.
            guard requested >= 9 else { return nil }
            agreed.serverMaxWindowBits = min(requested, serverMaxWindowBits)
            agreed.announceServerWindow = true
        } else {
            agreed.serverMaxWindowBits = serverMaxWindowBits
            // §7.1.2.1 lets the server name its window even when not asked.
            agreed.announceServerWindow = serverMaxWindowBits < 15
        }
        agreed.serverNoContextTakeover = serverNoTakeover || forceServerNoContextTakeover
        agreed.clientNoContextTakeover = clientNoTakeover || forceClientNoContextTakeover
        if clientWindowAllowed, let limit = clientMaxWindowBits {
            agreed.clientMaxWindowBits = min(limit, clientWindowLimit)
            agreed.announceClientWindow = true
        } else {
            agreed.clientMaxWindowBits = clientWindowLimit
        }
        return agreed
    }

    /// RFC 7692 §7.1.2: the value is 8...15 in decimal without leading zeros.
    static func windowBits(_ text: String) -> Int? {
        guard let first = text.utf8.first, first != UInt8(ascii: "0"),
            text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }), let bits = Int(text),
            (8...15).contains(bits)
        else { return nil }
        return bits
    }
}
