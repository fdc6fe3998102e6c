/// When the handler reads from the socket. Reads stop while the core has a batch of this
/// connection's requests, while received messages wait to be handled, and while the socket
/// cannot take what the connection owes the client (pongs, replies): a client that sends
/// faster than it reads stalls itself, not the broker (PROTOCOL.md §6).
extension ConnectionStateMachine {
    /// A batch of requests is with the core: received messages wait for its answer.
    package var awaitsCore: Bool { reads.coreBusy }

    /// NIO asks to read.
    package mutating func readRequested() -> Action {
        guard !reads.coreBusy, !reads.pendingMessages, isWritable else {
            reads.held = true
            return .hold
        }
        return .read
    }

    /// The handler keeps a whole message, to hand to the core in its next batch.
    package mutating func messageKept() -> Action {
        reads.pendingMessages = true
        return .none
    }

    /// The handler handled a batch of received messages: `sentToCore` when it handed the
    /// core requests, `pendingMessages` when some are left for the next batch. A read held
    /// meanwhile goes on once the core is not busy and nothing waits.
    package mutating func receivedHandled(sentToCore: Bool, pendingMessages: Bool) -> Action {
        reads.coreBusy = sentToCore
        reads.pendingMessages = pendingMessages
        return reads.release(writable: isWritable) ? .read : .none
    }

    /// The core handled the batch; the handler hands it the next (`receivedHandled`).
    package mutating func requestsHandled() -> Action {
        reads.coreBusy = false
        return .none
    }
}

extension ConnectionStateMachine.ReadGate {
    /// True, once, when a held read may go on now.
    mutating func release(writable: Bool) -> Bool {
        guard held, !coreBusy, !pendingMessages, writable else { return false }
        held = false
        return true
    }
}
