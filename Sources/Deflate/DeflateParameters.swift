/// What one connection agreed to for permessage-deflate (RFC 7692 §7).
///
/// Two connections with equal parameters can share the bytes of a compressed message
/// when `serverNoContextTakeover` holds for the compressor, which is why this type is
/// `Hashable`: the broker groups subscribers by it.
public struct DeflateParameters: Hashable, Sendable, CustomStringConvertible {
    /// The server resets its compressor after every message.
    public var serverNoContextTakeover: Bool
    /// The client resets its compressor after every message, so the server may reset its
    /// decompressor too.
    public var clientNoContextTakeover: Bool
    /// LZ77 window the server compresses with, 9...15.
    public var serverMaxWindowBits: Int
    /// LZ77 window the client promised to stay within, 8...15.
    public var clientMaxWindowBits: Int
    /// Whether `server_max_window_bits` appears in the response.
    public var announceServerWindow: Bool
    /// Whether `client_max_window_bits` appears in the response.
    public var announceClientWindow: Bool

    public init(
        serverNoContextTakeover: Bool = false,
        clientNoContextTakeover: Bool = false,
        serverMaxWindowBits: Int = 15,
        clientMaxWindowBits: Int = 15,
        announceServerWindow: Bool = false,
        announceClientWindow: Bool = false
    ) {
        self.serverNoContextTakeover = serverNoContextTakeover
        self.clientNoContextTakeover = clientNoContextTakeover
        self.serverMaxWindowBits = serverMaxWindowBits
        self.clientMaxWindowBits = clientMaxWindowBits
        self.announceServerWindow = announceServerWindow
        self.announceClientWindow = announceClientWindow
    }

    /// The `Sec-WebSocket-Extensions` value of the handshake response.
    public var responseHeaderValue: String {
        var value = "permessage-deflate"
        if serverNoContextTakeover { value += "; server_no_context_takeover" }
        if clientNoContextTakeover { value += "; client_no_context_takeover" }
        if announceServerWindow { value += "; server_max_window_bits=\(serverMaxWindowBits)" }
        if announceClientWindow { value += "; client_max_window_bits=\(clientMaxWindowBits)" }
        return value
    }

    public var description: String { responseHeaderValue }
}
