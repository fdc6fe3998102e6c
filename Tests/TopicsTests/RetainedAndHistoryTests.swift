import Testing
import Topics

struct Note: StoredMessage, Equatable {
    var seq: UInt64
    var text: String
    var payloadIsEmpty: Bool { text.isEmpty }
}

@Suite struct RetainedAndHistoryTests {
    @Test func retainedSetClearAndLookUpByPattern() throws {
        var retained = RetainedMessages<Note>()
        retained.record(Note(seq: 2, text: "b"), on: try TopicName("prices.MSFT"))
        retained.record(Note(seq: 1, text: "a"), on: try TopicName("prices.AAPL"))
        retained.record(Note(seq: 3, text: "c"), on: try TopicName("prices.us.IBM"))
        let found = retained.messages(matching: try TopicPattern("prices.*"))
        #expect(found.map(\.topic.string) == ["prices.AAPL", "prices.MSFT"], "oldest first")
        #expect(retained.messages(matching: try TopicPattern("prices.>")).count == 3)
        #expect(retained.messages(matching: try TopicPattern(">")).count == 3)
        retained.record(Note(seq: 4, text: ""), on: try TopicName("prices.AAPL"))
        #expect(retained.message(on: try TopicName("prices.AAPL")) == nil)
        #expect(retained.count == 2)
        #expect(retained.messages(matching: try TopicPattern("prices")).isEmpty)
    }

    @Test func historyReplaysInSeqOrderAndReportsGaps() throws {
        var history = MessageHistory<Note>(capacityPerTopic: 3)
        let a = try TopicName("chat.a")
        let b = try TopicName("chat.b")
        for seq in UInt64(1)...10 {
            history.append(Note(seq: seq, text: "\(seq)"), on: seq.isMultiple(of: 2) ? a : b)
        }
        // a holds 6, 8, 10 (evicted 2, 4); b holds 5, 7, 9 (evicted 1, 3).
        let all = history.replay(matching: try TopicPattern("chat.*"), since: 0)
        #expect(all.messages.map(\.message.seq) == [5, 6, 7, 8, 9, 10])
        #expect(all.gaps.map(\.string) == ["chat.a", "chat.b"])
        let recent = history.replay(matching: try TopicPattern("chat.*"), since: 4)
        #expect(recent.gaps.isEmpty, "nothing above 4 was evicted")
        #expect(recent.messages.map(\.message.seq) == [5, 6, 7, 8, 9, 10])
        let onlyA = history.replay(matching: try TopicPattern("chat.a"), since: 3)
        #expect(onlyA.gaps.map(\.string) == ["chat.a"])
        #expect(onlyA.messages.map(\.message.seq) == [6, 8, 10])
        #expect(history.replay(matching: try TopicPattern("chat.a"), since: 10).messages.isEmpty)
    }

    @Test func zeroCapacityHoldsNothingButStillKnowsWhatWasMissed() throws {
        var history = MessageHistory<Note>(capacityPerTopic: 0)
        let topic = try TopicName("t")
        history.append(Note(seq: 1, text: "x"), on: topic)
        #expect(!history.holdsMessages(on: topic))
        #expect(history.topicsHoldingMessages == 0)
        #expect(history.replay(matching: try TopicPattern("t"), since: 0).gaps.map(\.string) == ["t"])
        #expect(history.replay(matching: try TopicPattern("t"), since: 1).gaps.isEmpty)
    }
}
