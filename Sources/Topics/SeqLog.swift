/// Messages in seq order with O(1) appends, removals from anywhere by seq, and reads that
/// resume from a seq: what lets a resume or a new subscription's retained messages be read
/// a bounded chunk at a time instead of all at once (PROTOCOL.md §6).
///
/// A removed entry leaves a hole; holes at the front are dropped at once and the rest when
/// they outnumber the live entries, so the log costs O(1) amortised per operation and never
/// holds more than twice its live entries.
struct SeqLog<Message: StoredMessage> {
    private var entries: [(seq: UInt64, message: Message?)] = []
    /// Entries before `start` are gone; dropping them is deferred like the holes'.
    private var start = 0
    private var holes = 0

    var count: Int { entries.count - start - holes }

    /// The oldest message held: holes at the front never stay.
    var first: Message? { start < entries.count ? entries[start].message : nil }

    /// `message.seq` must be above every seq appended before.
    mutating func append(_ message: Message) {
        entries.append((message.seq, message))
    }

    mutating func remove(seq: UInt64) {
        guard let index = index(atOrAfter: seq), entries[index].seq == seq, entries[index].message != nil else { return }
        entries[index].message = nil
        holes += 1
        while start < entries.count && entries[start].message == nil {
            start += 1
            holes -= 1
        }
        if holes > count || start > entries.count / 2 { compact() }
    }

    /// Calls `body` with held messages whose seq is in `from...through`, in seq order, and
    /// stops after `limit` entries looked at or when `body` returns false. Returns the seq
    /// to continue from, or nil when nothing in the range is left.
    func scan(from: UInt64, through: UInt64, limit: Int, _ body: (Message) -> Bool) -> UInt64? {
        guard var index = index(atOrAfter: from) else { return nil }
        var looked = 0
        while index < entries.count, entries[index].seq <= through {
            if looked == limit { return entries[index].seq }
            looked += 1
            if let message = entries[index].message, !body(message) {
                return index + 1 < entries.count ? entries[index + 1].seq : nil
            }
            index += 1
        }
        return nil
    }

    /// The first entry, hole or not, with a seq at or above `seq`.
    private func index(atOrAfter seq: UInt64) -> Int? {
        var low = start
        var high = entries.count
        while low < high {
            let middle = (low + high) / 2
            if entries[middle].seq < seq { low = middle + 1 } else { high = middle }
        }
        return low < entries.count ? low : nil
    }

    private mutating func compact() {
        entries = entries[start...].filter { $0.message != nil }
        start = 0
        holes = 0
    }
}
