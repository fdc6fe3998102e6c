import NIOCore
import Topics

/// Where publishes are accepted when several brokers act as one (PROTOCOL.md §13): the store
/// gives each its seq, and hands every accepted message back to every broker, in seq order,
/// through `BrokerCore.deliverAccepted`. herald's is Redis (`HeraldBackplane`); without one
/// the core accepts publishes itself.
package protocol Backplane: AnyObject, Sendable {
    /// Core loop: accept a publish; `accepted` runs on the core loop with its seq, or with
    /// `.unavailable` when the store cannot be reached (never accepted and lost).
    func accept(
        topic: TopicName, payload: ByteBuffer, retain: Bool, binary: Bool,
        _ accepted: @escaping (Result<UInt64, BrokerCore.PublishRefusal>) -> Void)
    /// STATS `backplane`.
    var name: String { get }
    /// STATS `backplane_connected`.
    var isConnected: Bool { get }
    /// Core loop, at shutdown: close the store's connections and stop reconnecting.
    func stop()
}

/// A message as a backplane's store holds it, for loading history and retained messages.
package struct BackplaneMessage: Sendable {
    package var seq: UInt64
    package var topic: TopicName
    package var payload: ByteBuffer
    package var binary: Bool

    package init(seq: UInt64, topic: TopicName, payload: ByteBuffer, binary: Bool) {
        self.seq = seq
        self.topic = topic
        self.payload = payload
        self.binary = binary
    }
}
