import Deflate
import HeraldCore
import HeraldSettings
import Logging
import NIOCore

/// What the WebSocket connections of one event loop share, touched only on that loop: the
/// list of connections to flush at the end of a core batch, the sweep that sends pings and
/// closes idle connections (one repeated task per loop instead of a timer per connection),
/// and one zlib decompressor. `@unchecked Sendable` so the listener can hand each channel
/// its loop's instance; it is only ever used on that loop.
/// A subscriber connection of a loop (WebSocket or event stream), as its sweep and its
/// end-of-batch flush see it.
protocol LoopConnection: AnyObject {
    /// Its place in the loop's sweep list; -1 when not in it.
    var sweepIndex: Int { get set }
    func sweep(now: NIODeadline)
    func flush()
}

final class LoopServices: @unchecked Sendable {
    let outbox: LoopOutbox
    /// The connections' limits and timeouts, which only a restart changes.
    let settings: Settings
    /// Shared by the loop's connections rather than held by each: a `Logger` costs a
    /// connection more than its frame decoder.
    let logger: Logger
    /// Shared by every compressed connection on the loop: herald always negotiates
    /// `client_no_context_takeover`, so no connection needs inflate state of its own.
    private(set) lazy var decompressor: MessageDecompressor? = try? MessageDecompressor(windowBits: 15, noContextTakeover: true)
    private var needFlush: [any LoopConnection] = []
    private var swept: [any LoopConnection] = []
    private var sweepTask: RepeatedTask?
    private let sweepInterval: TimeAmount

    init(outbox: LoopOutbox, settings: Settings, sweepInterval: TimeAmount, logger: Logger) {
        self.outbox = outbox
        self.settings = settings
        self.logger = logger
        self.sweepInterval = sweepInterval
    }

    /// Called once per core batch, after every connection took its deliveries.
    func flushBatch() {
        for connection in needFlush { connection.flush() }
        needFlush.removeAll(keepingCapacity: true)
    }

    /// `connection` wrote without flushing and wants a flush at the batch's end.
    func scheduleFlush(_ connection: any LoopConnection) {
        needFlush.append(connection)
    }

    func startSweeping(_ connection: any LoopConnection) {
        guard connection.sweepIndex < 0 else { return }
        connection.sweepIndex = swept.count
        swept.append(connection)
        if sweepTask == nil {
            sweepTask = outbox.loop.scheduleRepeatedTask(initialDelay: sweepInterval, delay: sweepInterval) { [self] _ in sweep() }
        }
    }

    /// Swap-remove, O(1).
    func stopSweeping(_ connection: any LoopConnection) {
        let index = connection.sweepIndex
        guard index >= 0 else { return }
        let last = swept.removeLast()
        if last !== connection {
            swept[index] = last
            last.sweepIndex = index
        }
        connection.sweepIndex = -1
    }

    private func sweep() {
        let now = NIODeadline.now()
        // A connection may leave the list while it is swept (idle close): walk a copy.
        for connection in swept { connection.sweep(now: now) }
    }

    func stop() {
        sweepTask?.cancel()
        sweepTask = nil
    }
}
