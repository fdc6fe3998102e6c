/// What the retained store and the history need to know of a message. The broker's own
/// message type (payload, encodings) stays opaque to this module.
public protocol StoredMessage {
    var topic: TopicName { get }
    /// The broker-wide sequence number, 1, 2, 3 … in acceptance order (PROTOCOL.md §3).
    var seq: UInt64 { get }
    /// A retain publish with an empty payload clears the topic's retained message.
    var payloadIsEmpty: Bool { get }
    /// What the message counts against `--max-history-bytes` and `--max-retained-bytes`.
    var payloadByteCount: Int { get }
}
