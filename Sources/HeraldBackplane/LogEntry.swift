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

    /// `[id, [field, value, …]]` from XREAD or XRANGE; nil for anything else.
    init?(_ value: RESPValue) {
        guard let pair = value.array, pair.count == 2, let id = pair[0].string, let fields = pair[1].array else { return nil }
        var byName: [String: RESPValue] = [:]
        var index = 0
        while index + 1 < fields.count {
            if let name = fields[index].string { byName[name] = fields[index + 1] }
            index += 2
        }
        guard let seqText = id.split(separator: "-").first, let seq = UInt64(seqText),
              let topicText = byName["t"]?.string, let topic = try? TopicName(topicText),
              let epoch = byName["e"]?.string else { return nil }
        self.id = id
        self.seq = seq
        self.topic = topic
        self.payload = byName["p"]?.bytes ?? ByteBuffer()
        self.retain = byName["r"]?.string == "1"
        self.binary = byName["b"]?.string == "1"
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
