import HeraldRedis
import NIOCore
import Topics

/// One accepted message as the log holds it.
struct LogEntry {
    var id: String
    var seq: UInt64
    var topic: TopicName
    var payload: ByteBuffer
    var retain: Bool
    var binary: Bool
    var epoch: String

    /// `[id, [field, value, …]]` from XREAD or XRANGE; nil for anything else. Read for every
    /// message on every broker, so fields are matched on their one-byte names, with no
    /// dictionary or string split.
    init?(_ value: RESPValue) {
        guard case .array(let pair) = value, pair.count == 2, case .bulkString(let idBytes) = pair[0],
            case .array(let fields) = pair[1]
        else { return nil }
        var seq: UInt64 = 0
        for byte in idBytes.readableBytesView {
            guard byte != UInt8(ascii: "-") else { break }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            seq = seq &* 10 &+ UInt64(byte - UInt8(ascii: "0"))
        }
        var topic: TopicName?
        var payload = ByteBuffer()
        var retain = false
        var binary = false
        var epoch: String?
        var index = 0
        while index + 1 < fields.count {
            defer { index += 2 }
            guard case .bulkString(let name) = fields[index], name.readableBytes == 1, case .bulkString(let field) = fields[index + 1] else { continue }
            switch name.readableBytesView.first! {
            case UInt8(ascii: "t"): topic = try? TopicName(String(buffer: field))
            case UInt8(ascii: "p"): payload = field
            case UInt8(ascii: "r"): retain = field.readableBytesView.first == UInt8(ascii: "1")
            case UInt8(ascii: "b"): binary = field.readableBytesView.first == UInt8(ascii: "1")
            case UInt8(ascii: "e"): epoch = String(buffer: field)
            default: break
            }
        }
        guard seq > 0, let topic, let epoch else { return nil }
        self.id = String(buffer: idBytes)
        self.seq = seq
        self.topic = topic
        self.payload = payload
        self.retain = retain
        self.binary = binary
        self.epoch = epoch
    }

    /// XREAD's reply: one stream's entries (RESP3 answers a map, RESP2 an array of pairs).
    static func entries(ofXRead reply: RESPValue) -> [LogEntry] {
        let streams: [RESPValue]
        switch reply {
        case .map(let pairs): streams = pairs.map(\.1)
        case .array(let pairs): streams = pairs.compactMap { $0.array?.last }
        default: return []
        }
        return streams.flatMap { $0.array ?? [] }.compactMap(LogEntry.init)
    }
}
