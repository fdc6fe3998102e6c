import HeraldAuth
@testable import HeraldCore
import HeraldWire
import NIOCore
import NIOEmbedded
import Topics

/// What the core tests do to a core on an embedded loop: `loop.run()` stands for the end
/// of the core loop's turn.
extension BrokerCore {
    /// A subscriber on the first outbox with a recording connection, attached and past its
    /// 101; its deliveries so far are kept when `keepingDeliveries`, else cleared.
    func attachRecorded(
        on loop: EmbeddedEventLoop, raw pattern: String? = nil, grants: Grants? = nil, keepingDeliveries: Bool = false
    ) -> (Subscriber, RecordingConnection) {
        let subscriber = Subscriber(wireForm: WireForm(mode: pattern == nil ? .json : .raw, deflateWindowBits: 0), outbox: outboxes[0])
        subscriber.grants = grants
        let connection = RecordingConnection()
        subscriber.connection = connection
        attach(subscriber, handshake: ByteBuffer(string: "101"), rawPattern: pattern.map { try! TopicPattern($0) })
        loop.run()
        if !keepingDeliveries { connection.clear() }
        return (subscriber, connection)
    }

    func send(_ json: String, from subscriber: Subscriber, on loop: EmbeddedEventLoop) {
        handle(ClientRequest.parse(ByteBuffer(string: json)), from: subscriber)
        loop.run()
    }

    /// `submit` on one broker, which answers before it returns.
    func accept(topic: TopicName, payload: ByteBuffer, retain: Bool, binary: Bool = false) -> Result<PublishResult, PublishRefusal> {
        var answer: Result<PublishResult, PublishRefusal>?
        submit(topic: topic, payload: payload, retain: retain, binary: binary) { answer = $0 }
        return answer!
    }

    @discardableResult
    func publish(topic: TopicName, payload: ByteBuffer, retain: Bool, binary: Bool = false) -> PublishResult {
        try! accept(topic: topic, payload: payload, retain: retain, binary: binary).get()
    }

    @discardableResult
    func publish(_ topic: String, _ payload: String, retain: Bool = false, binary: Bool = false, on loop: EmbeddedEventLoop) -> PublishResult {
        let result = publish(topic: try! TopicName(topic), payload: ByteBuffer(string: payload), retain: retain, binary: binary)
        loop.run()
        return result
    }
}
