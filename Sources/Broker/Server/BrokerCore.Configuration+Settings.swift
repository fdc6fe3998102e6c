import HeraldCore
import HeraldSettings

extension BrokerCore.Configuration {
    /// The part of `settings` the core reads.
    package init(_ settings: Settings) {
        let slowConsumer: SlowConsumerPolicy =
            switch settings.slowConsumer {
            case .disconnect: .disconnect
            case .drop: .drop
            }
        self.init(
            allowClientPublish: settings.allowClientPublish,
            historyPerTopic: settings.historyPerTopic,
            maxHistoryBytes: settings.maxHistoryBytes,
            historyTTLSeconds: settings.historyTTLSeconds,
            maxRetainedBytes: settings.maxRetainedBytes,
            keepLatest: settings.keepLatest,
            maxPendingBytes: settings.maxPendingBytes,
            slowConsumer: slowConsumer,
            maxSubscriptionsPerConnection: settings.maxSubscriptionsPerConnection,
            compressionThreshold: settings.compressionThreshold,
            deflateMemoryLevel: settings.deflateMemoryLevel
        )
    }
}
