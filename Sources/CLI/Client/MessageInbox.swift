import NIOCore

/// The hand-off from the event loop to the one task that reads a connection's messages.
///
/// It lives on the loop, so that a message and the timeout of the read waiting for it
/// cannot both win; and it holds a few messages at most, so that its owner can stop
/// reading the socket while the reader is behind, rather than buffer without bound.
final class MessageInbox {
    /// Messages held before socket reads pause: one read's worth of small messages, not a
    /// backlog.
    static let capacity = 16

    private let eventLoop: any EventLoop
    private var ready = CircularBuffer<WebSocketMessage>()
    private var waiter: (promise: EventLoopPromise<WebSocketMessage?>, timer: Scheduled<Void>?)?
    /// Set once no more messages will come; success means the peer closed with a close frame.
    private var end: Result<Void, any Error>?

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    var isFull: Bool { ready.count >= Self.capacity }

    func deliver(_ message: WebSocketMessage) {
        guard end == nil else { return }
        if let waiting = waiter {
            waiter = nil
            waiting.timer?.cancel()
            waiting.promise.succeed(message)
        } else {
            ready.append(message)
        }
    }

    /// Messages already held are still handed out; after them, nil or the error.
    func finish(_ result: Result<Void, any Error>) {
        guard end == nil else { return }
        end = result
        guard let waiting = waiter else { return }
        waiter = nil
        waiting.timer?.cancel()
        waiting.promise.completeWith(result.map { _ -> WebSocketMessage? in nil })
    }

    func next(timeout: TimeAmount?) -> EventLoopFuture<WebSocketMessage?> {
        if let message = ready.popFirst() { return eventLoop.makeSucceededFuture(message) }
        if let end { return eventLoop.makeCompletedFuture(end.map { _ -> WebSocketMessage? in nil }) }
        guard waiter == nil else { return eventLoop.makeFailedFuture(WebSocketClientError.concurrentReceive) }
        let promise = eventLoop.makePromise(of: WebSocketMessage?.self)
        let timer = timeout.map { timeout in
            eventLoop.assumeIsolated().scheduleTask(in: timeout) {
                self.waiter = nil
                promise.fail(WebSocketClientError.timedOut(timeout))
            }
        }
        waiter = (promise, timer)
        return promise.futureResult
    }
}
