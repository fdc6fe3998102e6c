import HeraldWire
import NIOCore
import Topics

/// Replays (the history after a `since`, the retained messages of a new subscription) go
/// out a bounded chunk per turn of the core loop, pulled by the connection as it drains:
/// no request can hold up publishing for others, and no replay holds more than one chunk
/// of a connection's memory at once (PROTOCOL.md §6). Live messages that arrive meanwhile are
/// held, counted against the connection's `--max-pending-bytes`, and follow the replay.
extension BrokerCore {
    func startReplay(
        of pattern: TopicPattern, from source: PendingReplay.Cursor.Source, since: UInt64, coveredAbove: UInt64?, for subscriber: Subscriber
    ) {
        var cursor = PendingReplay.Cursor(pattern: pattern, source: source, since: since, through: seq, coveredAbove: coveredAbove)
        cursor.next = since + 1
        if let replay = subscriber.replay {
            replay.cursors.append(cursor)  // the one under way pulls this one in its turn
            return
        }
        subscriber.replay = PendingReplay(cursor)
        continueReplay(subscriber)
    }

    /// Sends the next chunk of `subscriber`'s replay, and, once the replay is over, the live
    /// messages held meanwhile. The connection calls this again when it has drained.
    package func continueReplay(_ subscriber: Subscriber) {
        loop.assertInEventLoop()
        guard subscriber.isAttached, let replay = subscriber.replay else { return }
        defer { scheduleSend() }
        var budget = ReplayBudget(maxPendingBytes: configuration.maxPendingBytes)
        while !budget.isSpent, var cursor = replay.cursors.first {
            let done = advance(&cursor, for: subscriber, budget: &budget)
            if done {
                replay.cursors.removeFirst()
            } else {
                replay.cursors[0] = cursor
                break
            }
        }
        guard replay.cursors.isEmpty else {
            subscriber.outbox.enqueue(.replayPaused, to: subscriber)
            return
        }
        subscriber.replay = nil
        let lagging = subscriber.lagging.load(ordering: .relaxed)
        for var entry in replay.held.entries where entry.frame.readableBytes > 0 {
            if let topic = entry.topic, lagging {
                subscriber.outbox.enqueue(latest: entry.frame, topic: topic, to: subscriber, acceptedAt: 0)
            } else {
                subscriber.outbox.enqueue(frame: &entry.frame, to: subscriber, keepLatest: entry.topic != nil)
            }
        }
    }

    /// Reads one chunk of `cursor`; true when it has nothing more to send.
    private func advance(_ cursor: inout PendingReplay.Cursor, for subscriber: Subscriber, budget: inout ReplayBudget) -> Bool {
        let form = subscriber.wireForm
        let send = { (message: PublishedMessage) -> Bool in
            guard cursor.pattern.matches(message.topic), !self.alreadySent(message, by: cursor, to: subscriber) else { return true }
            var frame: ByteBuffer
            switch cursor.source {
            case .retained:
                frame = self.encoder.retainedFrame(message, as: form)
            case .history(let reportsGaps):
                let last = cursor.lastSent[message.topic] ?? cursor.since
                if reportsGaps, self.history.evictedThrough(on: message.topic) > last {
                    self.reply(ServerReply.gap(topic: message.topic.string, since: last), to: subscriber)
                }
                cursor.lastSent[message.topic] = message.seq
                frame = self.encoder.encode(message, as: form)
            }
            subscriber.outbox.enqueue(frame: &frame, to: subscriber)
            budget.spend(frame)
            return !budget.isSpent
        }
        let next: UInt64? =
            switch cursor.source {
            case .retained: retained.scan(from: cursor.next, through: cursor.through, limit: ReplayBudget.scanned, send)
            case .history: history.scan(from: cursor.next, through: cursor.through, limit: ReplayBudget.scanned, send)
            }
        guard let next else { return true }
        cursor.next = next
        // A chunk that found nothing to send still ends the turn: the scan limit is the bound.
        budget.messages = 0
        return false
    }

    /// Whether another of the connection's patterns, or this one earlier, already sent it.
    private func alreadySent(_ message: PublishedMessage, by cursor: PendingReplay.Cursor, to subscriber: Subscriber) -> Bool {
        if let coveredAbove = cursor.coveredAbove, message.seq > coveredAbove { return true }
        for (other, deliveredAbove) in subscriber.patterns where other != cursor.pattern && other.matches(message.topic) {
            switch cursor.source {
            case .retained: return true  // its own retained replay or a live delivery sent this
            case .history: if message.seq > deliveredAbove { return true }
            }
        }
        return false
    }

    /// A live frame for a connection whose replay is under way: it waits its turn, within
    /// the connection's budget, or the slow-consumer policy applies; a keep-latest topic's
    /// (`latestOf`) replaces the one of its topic already waiting.
    func hold(_ frame: ByteBuffer, latestOf topic: TopicName?, in replay: PendingReplay, for subscriber: Subscriber) {
        let counters = subscriber.outbox.counters
        let conflated = replay.held.append(frame, latestOf: topic)
        if conflated > 0 { counters.conflated.wrappingIncrement(by: conflated, ordering: .relaxed) }
        guard replay.held.bytes > configuration.maxPendingBytes else { return }
        switch configuration.slowConsumer {
        case .disconnect:
            counters.dropped.wrappingIncrement(by: replay.held.count, ordering: .relaxed)
            subscriber.outbox.enqueue(.slowConsumer, to: subscriber)
            detach(subscriber)  // nothing more for a connection that is going
        case .drop:
            var dropped = 0
            while replay.held.bytes > configuration.maxPendingBytes, replay.held.dropOldest() { dropped += 1 }
            counters.dropped.wrappingIncrement(by: dropped, ordering: .relaxed)
        }
    }
}
