import NIOCore
import Topics

/// What the core sends, and the channel's writability. `framesQueued` and `latestQueued`
/// run for every frame written to every subscriber: a live connection matches its case
/// without binding it, and a lagging one's backlog is mutated in place (`.modifying`).
extension ConnectionStateMachine {
    /// `exempt`: a batch holding keep-latest messages that the core coalesced before it knew
    /// the connection was lagging; it waits without counting against the limit, since the
    /// core sends such messages one by one from then on (so there are few such batches).
    package mutating func framesQueued(_ frames: ByteBuffer, messages: Int, exempt: Bool = false) -> Action {
        switch state {
        case .open(_, .live):
            return .write
        case .open(let open, .lagging(var lag)):
            state = .modifying
            lag.backlog.append(frames, messages: messages, exempt: exempt)
            return enforceBacklogLimit(open, &lag, conflated: 0)
        case .awaitingHandshake, .closing, .closed:
            return .none
        case .modifying:
            preconditionFailure("re-entered while modifying")
        }
    }

    /// A message of a `--keep-latest` topic (PROTOCOL.md §11): written at once when the
    /// connection keeps up; otherwise it replaces the one of its topic still waiting, if
    /// any (`conflated` 1).
    package mutating func latestQueued(_ frame: ByteBuffer, topic: TopicName) -> Action {
        switch state {
        case .open(_, .live):
            return .write
        case .open(let open, .lagging(var lag)):
            state = .modifying
            let conflated = lag.backlog.appendLatest(frame, topic: topic)
            return enforceBacklogLimit(open, &lag, conflated: conflated)
        case .awaitingHandshake, .closing, .closed:
            return .none
        case .modifying:
            preconditionFailure("re-entered while modifying")
        }
    }

    /// Puts the open state back, or ends a slow consumer under the `disconnect` policy.
    private mutating func enforceBacklogLimit(_ open: OpenState, _ lag: inout Lagging, conflated: Int) -> Action {
        var dropped = 0
        while lag.backlog.bytes - lag.backlog.exemptBytes > backlogLimit {
            switch policy {
            case .disconnect:
                let held = lag.backlog.removeAll()
                state = .closing(ClosingState(writable: lag.writable, undelivered: 0))
                return .disconnectSlowConsumer(dropped: held)
            case .drop:
                dropped += lag.backlog.dropOldest()
            }
        }
        state = .open(open, .lagging(lag))
        return .queued(dropped: dropped, conflated: conflated)
    }

    /// The core found the connection over its budget: the slow-consumer policy's
    /// `disconnect` (the core itself drops under `drop`).
    package mutating func overBudget() -> Action {
        switch state {
        case .open(_, .live):
            state = .closing(ClosingState(writable: true, undelivered: 0))
            return .disconnectSlowConsumer(dropped: 0)
        case .open(_, .lagging(var lag)):
            state = .modifying
            let held = lag.backlog.removeAll()
            state = .closing(ClosingState(writable: lag.writable, undelivered: 0))
            return .disconnectSlowConsumer(dropped: held)
        case .awaitingHandshake, .closing, .closed:
            return .none
        case .modifying:
            preconditionFailure("re-entered while modifying")
        }
    }

    /// A replay chunk has been queued: the next may come now when the connection keeps up;
    /// otherwise `.caughtUp(continueReplay: true)` says when.
    package mutating func replayPaused() -> Action {
        switch state {
        case .open(_, .live):
            return .continueReplay
        case .open(let open, .lagging(var lag)):
            state = .modifying
            lag.replayWaiting = true
            state = .open(open, .lagging(lag))
            return .none
        case .awaitingHandshake, .closing, .closed:
            return .none
        case .modifying:
            preconditionFailure("re-entered while modifying")
        }
    }

    /// The channel's writability changed: a connection that stops being writable lags (the
    /// core then sends keep-latest messages one by one); one that can write again drains
    /// its backlog and takes back a read it held.
    package mutating func writabilityChanged(_ writable: Bool) -> Action {
        switch state {
        case .awaitingHandshake(var waiting):
            state = .modifying
            waiting.writable = writable
            state = .awaitingHandshake(waiting)
        case .open(let open, .live):
            guard writable else {
                state = .open(open, .lagging(Lagging()))
                return .markLagging
            }
            return .resume(.caughtUp(continueReplay: false), read: reads.release(writable: true))
        case .open(let open, .lagging(var lag)):
            state = .modifying
            lag.writable = writable
            let drain = nextGeneration(open, &lag)
            guard writable else { return .markLagging }
            return .resume(drain, read: reads.release(writable: true))
        case .closing(var closing):
            closing.writable = writable
            state = .closing(closing)
        case .closed:
            return .none
        case .modifying:
            preconditionFailure("re-entered while modifying")
        }
        return writable ? .resume(.none, read: reads.release(writable: true)) : .markLagging
    }

    /// The last frame of a generation reached the socket: the next may go.
    package mutating func generationWritten() -> Action {
        guard case .open(let open, .lagging(var lag)) = state else { return .none }
        state = .modifying
        lag.generationInFlight = false
        return .resume(nextGeneration(open, &lag), read: false)
    }

    /// Takes the whole backlog as the next generation, once the channel is writable and
    /// the previous generation written; puts the state back.
    private mutating func nextGeneration(_ open: OpenState, _ lag: inout Lagging) -> Drain {
        guard lag.writable, !lag.generationInFlight else {
            state = .open(open, .lagging(lag))
            return .none
        }
        var frames: [ByteBuffer] = []
        while let next = lag.backlog.popFirst() { frames.append(next) }
        if frames.isEmpty {
            state = .open(open, .live)
            return .caughtUp(continueReplay: lag.replayWaiting)
        }
        lag.generationInFlight = true
        state = .open(open, .lagging(lag))
        return .generation(frames)
    }

    /// Shutdown: everything queued goes out before the close, whatever the writability.
    package mutating func shutdownRequested(code: UInt16) -> Action {
        switch state {
        case .open(_, .live):
            state = .closing(ClosingState(writable: true, undelivered: 0))
            return .shutdown(drained: [], code: code)
        case .open(_, .lagging(var lag)):
            state = .modifying
            var frames: [ByteBuffer] = []
            while let next = lag.backlog.popFirst() { frames.append(next) }
            state = .closing(ClosingState(writable: lag.writable, undelivered: 0))
            return .shutdown(drained: frames, code: code)
        case .awaitingHandshake, .closing, .closed:
            return .none
        case .modifying:
            preconditionFailure("re-entered while modifying")
        }
    }
}
