import HeraldWire
import NIOCore
import Topics

/// A backplane's store (PROTOCOL.md §13) holds the shared state: this broker takes it over at
/// start and whenever the store had to start again.
extension BrokerCore {
    /// Replaces this broker's state with the backplane's (at start, and when its store has a
    /// new epoch): `seq` is the last one `history` holds, from which the log is read on.
    /// `replacing`: connected clients had the old state, and are told of the discontinuity.
    package func loadFromBackplane(
        epoch newEpoch: String, seq newSeq: UInt64, history held: [BackplaneMessage],
        retained kept: [BackplaneMessage], replacing: Bool
    ) {
        loop.assertInEventLoop()
        if replacing { backplaneDiscontinuity(resumingAfter: newSeq, newEpoch: newEpoch) }
        startEpoch(newEpoch)
        let now = NIODeadline.now().uptimeNanoseconds
        for message in held {
            history.append(PublishedMessage(topic: message.topic, seq: message.seq, payload: message.payload, binary: message.binary), now: now)
        }
        // The log may have lost the oldest messages: a resume from before it gets a null gap.
        if let first = held.first, first.seq > 1 { history.forget(through: first.seq - 1) }
        for message in kept.sorted(by: { $0.seq < $1.seq }) {
            retained.record(PublishedMessage(topic: message.topic, seq: message.seq, payload: message.payload, binary: message.binary))
        }
        seq = newSeq
    }

    /// A new epoch starts with empty stores, and event ids that carry it.
    private func startEpoch(_ newEpoch: String) {
        epoch = newEpoch
        encoder = FrameEncoder(compressionThreshold: configuration.compressionThreshold, memoryLevel: configuration.deflateMemoryLevel, epoch: newEpoch)
        history = Self.emptyHistory(configuration)
        retained = RetainedMessages(maxBytes: configuration.maxRetainedBytes)
    }

    /// The backplane cannot hand back everything after `seq` (its log was trimmed while this
    /// broker was cut off), or its store lost its data and has a new epoch. Connected clients
    /// are told so (PROTOCOL.md §13): JSON mode gets a null-topic gap from the last seq it was
    /// sent; raw mode and event streams are closed (1012) so that they reconnect and resume.
    package func backplaneDiscontinuity(resumingAfter newSeq: UInt64, newEpoch: String?) {
        loop.assertInEventLoop()
        let lastDelivered = seq
        if let newEpoch, newEpoch != epoch { startEpoch(newEpoch) }
        let restarting = newSeq < lastDelivered
        seq = newSeq
        history.forget(through: newSeq)
        for subscriber in attached {
            if restarting {
                // A new epoch numbers from 1 again: what each connection was sent before
                // says nothing about the new seqs.
                subscriber.lastQueuedSeq = 0
                for pattern in subscriber.patterns.keys { subscriber.patterns[pattern] = newSeq }
            }
            switch subscriber.wireForm.mode {
            case .json: reply(ServerReply.gap(topic: nil, since: lastDelivered), to: subscriber)
            case .raw, .sse:
                subscriber.outbox.enqueue(.close(CloseCode.serviceRestart), to: subscriber)
                detach(subscriber)  // closing: it gets nothing more, and counts in no `+OK`
            }
        }
        // Accepted, but lost to this broker's subscribers.
        for (accepted, done) in awaitingDelivery { done(.success(PublishResult(seq: accepted, deliveries: 0))) }
        awaitingDelivery.removeAll()
        scheduleSend()
    }
}
