import Topics

extension BrokerCore {
    /// What the core reads of the broker's settings, fixed for its life: the server builds
    /// it from `Settings`, so that the core knows nothing of options, files or the command
    /// line. What SIGHUP changes reaches the core as an `AccessPolicy` instead.
    package struct Configuration: Sendable {
        /// What happens to a subscriber whose queue passes `maxPendingBytes` (PROTOCOL.md §6).
        package enum SlowConsumerPolicy: Sendable {
            /// Close the connection with code 1008.
            case disconnect
            /// Drop the oldest queued messages and count them in STATS.
            case drop
        }

        /// Topics a client may publish to without a token; the policy when none is given.
        package var allowClientPublish: [TopicPattern]
        package var historyPerTopic: Int
        package var maxHistoryBytes: Int
        package var historyTTLSeconds: Double
        package var maxRetainedBytes: Int
        /// Patterns whose topics a lagging subscriber conflates to the newest message (PROTOCOL.md §11).
        package var keepLatest: [TopicPattern]
        package var maxPendingBytes: Int
        package var slowConsumer: SlowConsumerPolicy
        package var maxSubscriptionsPerConnection: Int
        package var compressionThreshold: Int
        package var deflateMemoryLevel: Int

        /// Every field, named: the server's mapping from `Settings` is the one caller.
        package init(
            allowClientPublish: [TopicPattern], historyPerTopic: Int, maxHistoryBytes: Int, historyTTLSeconds: Double,
            maxRetainedBytes: Int, keepLatest: [TopicPattern], maxPendingBytes: Int, slowConsumer: SlowConsumerPolicy,
            maxSubscriptionsPerConnection: Int, compressionThreshold: Int, deflateMemoryLevel: Int
        ) {
            self.allowClientPublish = allowClientPublish
            self.historyPerTopic = historyPerTopic
            self.maxHistoryBytes = maxHistoryBytes
            self.historyTTLSeconds = historyTTLSeconds
            self.maxRetainedBytes = maxRetainedBytes
            self.keepLatest = keepLatest
            self.maxPendingBytes = maxPendingBytes
            self.slowConsumer = slowConsumer
            self.maxSubscriptionsPerConnection = maxSubscriptionsPerConnection
            self.compressionThreshold = compressionThreshold
            self.deflateMemoryLevel = deflateMemoryLevel
        }
    }
}
