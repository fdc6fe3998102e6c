import Testing
import TestSupport
@testable import Topics

struct Note: StoredMessage, Equatable {
    var topic: TopicName
    var seq: UInt64
    var text: String
    var payloadIsEmpty: Bool { text.isEmpty }
    var payloadByteCount: Int { text.utf8.count }

    init(_ topic: String, _ seq: UInt64, _ text: String = "x") {
        self.topic = try! TopicName(topic)
        self.seq = seq
        self.text = text
    }
}

/// Everything a scan yields, read in chunks of `limit` looked-at entries as a replay does.
func drain(_ scan: (UInt64, Int, (Note) -> Bool) -> UInt64?, from: UInt64 = 0, limit: Int = 2) -> [UInt64] {
    var seen: [UInt64] = []
    var next: UInt64? = from
    while let position = next {
        next = scan(position, limit) {
            seen.append($0.seq); return true
        }
    }
    return seen
}

@Suite struct RetainedAndHistoryTests {
    @Test func retainedSetClearAndReadOldestFirst() throws {
        var retained = RetainedMessages<Note>()
        retained.record(Note("prices.AAPL", 1, "a"))
        retained.record(Note("prices.MSFT", 2, "b"))
        retained.record(Note("prices.us.IBM", 3, "c"))
        retained.record(Note("prices.AAPL", 4, "a2"))
        #expect(drain { retained.scan(from: $0, through: .max, limit: $1, $2) } == [2, 3, 4], "replaced: read at its new seq")
        #expect(drain { retained.scan(from: $0, through: 3, limit: $1, $2) } == [2, 3], "later ones come live")
        retained.record(Note("prices.AAPL", 5, ""))
        #expect(retained.message(on: try TopicName("prices.AAPL")) == nil)
        #expect(retained.count == 2)
        #expect(drain { retained.scan(from: $0, through: .max, limit: $1, $2) } == [2, 3])
    }

    @Test func historyReadsInSeqOrderAndRemembersWhatItLetGo() throws {
        var history = MessageHistory<Note>(capacityPerTopic: 3)
        for seq in UInt64(1)...10 { history.append(Note(seq.isMultiple(of: 2) ? "chat.a" : "chat.b", seq)) }
        // a holds 6, 8, 10 (evicted 2, 4); b holds 5, 7, 9 (evicted 1, 3).
        #expect(drain { history.scan(from: $0, through: .max, limit: $1, $2) } == [5, 6, 7, 8, 9, 10])
        #expect(drain({ history.scan(from: $0, through: 8, limit: $1, $2) }, from: 7) == [7, 8])
        #expect(history.evictedThrough(on: try TopicName("chat.a")) == 4)
        #expect(history.evictedThrough(on: try TopicName("chat.b")) == 3)
        #expect(history.evictedThrough(on: try TopicName("chat.c")) == 0)
    }

    @Test func stoppingEarlyResumesAfterTheLastOneRead() {
        var history = MessageHistory<Note>(capacityPerTopic: 10)
        for seq in UInt64(1)...5 { history.append(Note("t", seq)) }
        var read: [UInt64] = []
        let next = history.scan(from: 0, through: .max, limit: 100) {
            read.append($0.seq); return read.count < 2
        }
        #expect(read == [1, 2] && next == 3)
    }

    @Test func zeroCapacityHoldsNothingButStillKnowsWhatWasMissed() throws {
        var history = MessageHistory<Note>(capacityPerTopic: 0)
        history.append(Note("t", 1))
        #expect(!history.holdsMessages(on: try TopicName("t")))
        #expect(history.topicsHoldingMessages == 0)
        #expect(history.evictedThrough(on: try TopicName("t")) == 1)
        #expect(drain { history.scan(from: $0, through: .max, limit: $1, $2) }.isEmpty)
    }

    /// The log against a plain sorted array, through random appends and removals.
    @Test func seqLogAgreesWithASortedArray() {
        var random = SplitMix64(seed: 12)
        var log = SeqLog<Note>()
        var model: [UInt64] = []
        var seq: UInt64 = 0
        for _ in 0..<5000 {
            if model.isEmpty || Int.random(in: 0..<3, using: &random) > 0 {
                seq += 1
                log.append(Note("t", seq))
                model.append(seq)
            } else {
                let victim = model.remove(at: Int.random(in: 0..<model.count, using: &random))
                log.remove(seq: victim)
            }
            #expect(log.count == model.count)
        }
        let from = model[model.count / 3]
        #expect(drain({ log.scan(from: $0, through: .max, limit: $1, $2) }, from: from, limit: 7) == model.filter { $0 >= from })
    }
}
