import HeraldWire
import NIOCore

/// Everything one bench run shares. The whole load tool runs on a single event loop, so
/// this is confined to it (`@unchecked Sendable` only so closures may carry it there).
final class BenchState: @unchecked Sendable {
    let path: String
    let offerCompression: Bool
    let subscribers: Int
    let messages: Int
    let allConnected: EventLoopPromise<Void>
    let allDone: EventLoopPromise<Void>

    private(set) var connected = 0
    private(set) var done = 0
    private(set) var totalReceived = 0
    private var receivedBy: [Int]
    /// How many subscribers got each message so far, for `--window-counts deliveries`.
    private var deliveredTo: [Int32]
    /// Messages every subscriber has received: the first `completed` of them.
    private(set) var completed = 0
    /// Called when `completed` grows: the delivery-counted window opened.
    var onCompleted: (() -> Void)?
    var bytesIn = 0
    private(set) var errors: [String] = []

    init(path: String, offerCompression: Bool, subscribers: Int, messages: Int, loop: any EventLoop) {
        self.path = path
        self.offerCompression = offerCompression
        self.subscribers = subscribers
        self.messages = messages
        self.receivedBy = Array(repeating: 0, count: subscribers)
        self.deliveredTo = Array(repeating: 0, count: messages)
        self.allConnected = loop.makePromise()
        self.allDone = loop.makePromise()
    }

    func connected(_ index: Int) {
        connected += 1
        if connected == subscribers { allConnected.succeed() }
    }

    func progress(_ index: Int, received: Int) {
        totalReceived += received - receivedBy[index]
        let wasDone = receivedBy[index] >= messages
        if receivedBy[index] < min(received, messages) {
            for message in receivedBy[index]..<min(received, messages) { deliveredTo[message] += 1 }
            let before = completed
            while completed < messages && deliveredTo[completed] == Int32(subscribers) { completed += 1 }
            if completed != before { onCompleted?() }
        }
        receivedBy[index] = received
        if !wasDone && received >= messages && messages > 0 {
            done += 1
            if done == subscribers { allDone.succeed() }
        }
    }

    func disconnected(_ index: Int) {
        if receivedBy[index] < messages { failed("connection \(index) closed after \(receivedBy[index]) messages") }
    }

    func failed(_ reason: String) {
        if errors.count < 5 { errors.append(reason) }
    }
}
