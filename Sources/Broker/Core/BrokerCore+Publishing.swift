import HeraldWire
import NIOCore
import Topics

/// Every publish, whichever path it enters by (the line protocol, HTTP, a JSON-mode or a
/// raw-mode client), is admitted by `submit` and nowhere else, so that a new path cannot
/// skip a refusal or the backplane.
///
/// One broker numbers an admitted publish itself and answers at once. Through a backplane
/// (PROTOCOL.md §13) the store numbers it and hands every accepted message back, in seq order,
/// to every broker, this one included, which delivers it to its own subscribers as if it
/// had accepted it itself. A publisher's `+OK` waits for its message to come back, so that
/// it can say how many of this broker's subscribers it was queued for.
extension BrokerCore {
    /// A publish the broker refuses without giving it a seq.
    package enum PublishRefusal: Error, Equatable {
        /// `--max-retained-bytes` reached and the topic holds no retained message.
        case retainedFull
        case shuttingDown
        /// The backplane cannot be reached (PROTOCOL.md §13).
        case unavailable

        package var code: String {
            switch self {
            case .retainedFull: "retained_full"
            case .shuttingDown: "shutting_down"
            case .unavailable: "unavailable"
            }
        }

        package var message: String {
            switch self {
            case .retainedFull: "retained messages are at --max-retained-bytes"
            case .shuttingDown: "the broker is stopping"
            case .unavailable: "the backplane is not reachable; try again"
            }
        }
    }

    /// Why a publish is refused before it gets a seq, if it is.
    func refusal(of topic: TopicName, payload: ByteBuffer, retain: Bool) -> PublishRefusal? {
        if isShuttingDown { return .shuttingDown }
        if retain && retained.refuses(topic, size: payload.readableBytes) { return .retainedFull }
        return nil
    }

    /// Admits a publish. Without a backplane `done` runs before this returns.
    /// `numbered` runs once the publish has its seq and, where that comes first (always on
    /// one broker), before any subscriber here is queued the message: a JSON-mode client's
    /// `ok` then precedes its own copy.
    package func submit(
        topic: TopicName, payload: ByteBuffer, retain: Bool, binary: Bool = false,
        numbered: ((UInt64) -> Void)? = nil,
        _ done: @escaping (Result<PublishResult, PublishRefusal>) -> Void
    ) {
        loop.assertInEventLoop()
        if let refusal = refusal(of: topic, payload: payload, retain: retain) { return done(.failure(refusal)) }
        guard let backplane else {
            numbered?(seq + 1)
            done(.success(fanOut(topic: topic, payload: payload, retain: retain, binary: binary, acceptedSeq: nil)))
            return
        }
        publishesInFlight += 1
        backplane.accept(topic: topic, payload: payload, retain: retain, binary: binary) { [unowned self] result in
            publishesInFlight -= 1
            switch result {
            case .failure(let refusal):
                done(.failure(refusal))
            case .success(let accepted):
                numbered?(accepted)
                if let deliveries = deliveredBeforeAnswer.removeValue(forKey: accepted) {
                    done(.success(PublishResult(seq: accepted, deliveries: deliveries)))
                } else if accepted <= seq {
                    // Came back during a gap this broker could not replay: delivered nowhere here.
                    done(.success(PublishResult(seq: accepted, deliveries: 0)))
                } else {
                    awaitingDelivery[accepted] = done
                }
            }
            if publishesInFlight == 0 { deliveredBeforeAnswer.removeAll() }
        }
    }

    /// The backplane hands back an accepted message, in seq order; one already delivered
    /// (a repeat after a reconnect) is ignored.
    package func deliverAccepted(seq accepted: UInt64, topic: TopicName, payload: ByteBuffer, retain: Bool, binary: Bool) {
        loop.assertInEventLoop()
        guard accepted > seq else { return }
        let result = fanOut(topic: topic, payload: payload, retain: retain, binary: binary, acceptedSeq: accepted)
        if let done = awaitingDelivery.removeValue(forKey: accepted) {
            done(.success(result))
        } else if publishesInFlight > 0 {
            deliveredBeforeAnswer[accepted] = result.deliveries
        }
    }

    /// Numbers an admitted publish (or takes the seq the backplane gave it), files it in
    /// history and retained, and queues it for every matching subscriber. Private to this
    /// file: nothing reaches a subscriber without passing `submit`'s checks.
    /// `binary`: the publisher marked the payload binary, so it is never sent as text.
    private func fanOut(topic: TopicName, payload: ByteBuffer, retain: Bool, binary: Bool, acceptedSeq: UInt64?) -> PublishResult {
        seq = acceptedSeq ?? seq + 1
        let message = PublishedMessage(topic: topic, seq: seq, payload: payload, binary: binary)
        let acceptedAt = NIODeadline.now().uptimeNanoseconds
        history.append(message, now: acceptedAt)
        if retain { retained.record(message) }
        var deliveries = 0
        let seq = self.seq
        var frames = FrameCache()
        // Most subscribers of a topic share one wire form: the last frame is reused without
        // a lookup, which is what keeps a delivery to a few hundred nanoseconds.
        var lastForm = WireForm(mode: .raw, deflateWindowBits: 0)
        var lastFrame: ByteBuffer?
        let keepLatest = !configuration.keepLatest.isEmpty && configuration.keepLatest.contains { $0.matches(topic) }
        index.forEachMatch(topic) {
            $0.withSubscriber { subscriber in
                guard subscriber.lastQueuedSeq < seq else { return }  // another pattern already matched
                subscriber.lastQueuedSeq = seq
                deliveries += 1
                if lastFrame == nil || lastForm != subscriber.wireForm {
                    lastForm = subscriber.wireForm
                    lastFrame = frames.frame(for: lastForm, encoding: message, with: encoder)
                }
                if let replay = subscriber.replay {
                    hold(lastFrame!, latestOf: keepLatest ? topic : nil, in: replay, for: subscriber)
                } else if keepLatest && subscriber.lagging.load(ordering: .relaxed) {
                    subscriber.outbox.enqueue(latest: lastFrame!, topic: topic, to: subscriber, acceptedAt: acceptedAt)
                } else {
                    subscriber.outbox.enqueue(frame: &lastFrame!, to: subscriber, acceptedAt: acceptedAt, keepLatest: keepLatest)
                }
            }
        }
        published += 1
        delivered += deliveries
        if deliveries > 0 { scheduleSend() }
        return PublishResult(seq: seq, deliveries: deliveries)
    }
}
