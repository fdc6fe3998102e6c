import NIOCore
import Topics

/// Every setting of `herald serve`, with the defaults of CONTRACT §1 and §6.
package struct BrokerConfiguration: Sendable {
    enum SlowConsumerPolicy: String, Sendable, CaseIterable {
        case disconnect
        case drop
    }

    var listenHost = "127.0.0.1"
    var listenPort = 8080
    var socketPath = "./herald.sock"
    /// Event-loop threads; the first also owns the broker's shared state.
    var threads = System.coreCount
    package var historyPerTopic = 100
    var compression = true
    package var compressionThreshold = 64
    var deflateWindowBits = 15
    var deflateMemoryLevel = 8
    var maxMessageBytes = 1 << 20
    var maxFrameBytes = 1 << 20
    var maxPendingBytes = 1 << 20
    var slowConsumer = SlowConsumerPolicy.disconnect
    var handshakeTimeoutSeconds = 10.0
    var pingIntervalSeconds = 30.0
    var idleTimeoutSeconds = 75.0
    var maxSubscriptionsPerConnection = 100
    var maxConnections = 10_000
    var maxLineBytes = 1024
    var allowClientPublish: [TopicPattern] = []
    var shutdownGraceSeconds = 5.0

    package init() {}

    func allowsClientPublish(to topic: TopicName) -> Bool {
        allowClientPublish.contains { $0.matches(topic) }
    }
}
