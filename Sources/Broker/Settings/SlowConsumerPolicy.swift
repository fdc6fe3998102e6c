/// What happens to a subscriber whose outbound queue exceeds `--max-pending-bytes` (PROTOCOL.md §6).
public enum SlowConsumerPolicy: String, Sendable, CaseIterable {
    /// Close the connection with code 1008.
    case disconnect
    /// Drop the oldest queued messages and count them in STATS.
    case drop
}
