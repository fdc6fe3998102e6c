import Testing
@testable import Topics

/// PROTOCOL.md §6: history bounded by bytes across topics (oldest first) and by a TTL per
/// quiet topic; retained messages capped for new topics only.
@Suite struct MemoryBoundsTests {
    func heldSeqs(_ history: MessageHistory<Note>) -> [UInt64] {
        drain { history.scan(from: $0, through: .max, limit: $1, $2) }
    }

    @Test func theByteCapEvictsTheOldestWhateverTheirTopic() throws {
        var history = MessageHistory<Note>(capacityPerTopic: 100, maxBytes: 10)
        history.append(Note("a", 1, "xxxx"))
        history.append(Note("b", 2, "xxxx"))
        history.append(Note("a", 3, "xxxx"))  // 12 bytes: seq 1 goes
        #expect(heldSeqs(history) == [2, 3])
        #expect(history.payloadBytes == 8)
        #expect(history.evictedThrough(on: try TopicName("a")) == 1)
        history.append(Note("c", 4, "xxxx"))  // seq 2 goes, and with it all of b
        #expect(heldSeqs(history) == [3, 4])
        #expect(history.topicsHoldingMessages == 2)
        #expect(history.forgottenThrough == 2, "b is forgotten: a resume from below 2 gets a null gap")
        #expect(!history.holdsMessages(on: try TopicName("b")))
    }

    @Test func aMessageLargerThanTheCapIsNotKept() {
        var history = MessageHistory<Note>(capacityPerTopic: 10, maxBytes: 3)
        history.append(Note("a", 1, "xxxx"))
        #expect(heldSeqs(history).isEmpty && history.payloadBytes == 0)
        #expect(history.forgottenThrough == 1)
    }

    @Test func theCapHoldsThroughManyTopics() {
        var history = MessageHistory<Note>(capacityPerTopic: 100, maxBytes: 1000)
        for seq in UInt64(1)...20_000 { history.append(Note("t.\(seq % 5000)", seq, "0123456789")) }
        #expect(history.payloadBytes == 1000)
        #expect(heldSeqs(history) == Array(19_901...20_000))
        #expect(history.topicsHoldingMessages == 100)
    }

    @Test func aQuietTopicIsDroppedAfterItsTTL() throws {
        let second: UInt64 = 1_000_000_000
        var history = MessageHistory<Note>(capacityPerTopic: 10, ttl: 10 * second)
        history.append(Note("quiet", 1), now: 0)
        history.append(Note("busy", 2), now: 0)
        history.append(Note("busy", 3), now: 8 * second)
        history.expire(now: 9 * second)
        #expect(heldSeqs(history) == [1, 2, 3], "nothing is due yet")
        history.expire(now: 10 * second)
        #expect(heldSeqs(history) == [2, 3], "busy had a publish 2 s ago and keeps everything")
        #expect(history.forgottenThrough == 1)
        #expect(history.topicsHoldingMessages == 1)
        history.expire(now: 17 * second)
        #expect(heldSeqs(history) == [2, 3])
        history.expire(now: 18 * second)
        #expect(heldSeqs(history).isEmpty && history.payloadBytes == 0 && history.topicsHoldingMessages == 0)
        #expect(history.forgottenThrough == 3)
        history.append(Note("quiet", 4), now: 20 * second)
        history.expire(now: 29 * second)
        #expect(heldSeqs(history) == [4], "a topic back after being forgotten gets a fresh TTL")
    }

    @Test func retainedCapRefusesOnlyNewTopics() throws {
        var retained = RetainedMessages<Note>(maxBytes: 8)
        retained.record(Note("a", 1, "xxxx"))
        retained.record(Note("b", 2, "xxxx"))
        #expect(retained.payloadBytes == 8)
        #expect(retained.refuses(try TopicName("c"), size: 1))
        #expect(!retained.refuses(try TopicName("a"), size: 4), "replacing always works")
        #expect(!retained.refuses(try TopicName("c"), size: 0), "clearing always works")
        retained.record(Note("a", 3, ""))
        #expect(retained.payloadBytes == 4)
        #expect(!retained.refuses(try TopicName("c"), size: 4))
    }
}
