import HeraldAuth
import HeraldWire
import JSON
import NIOCore
import Topics

/// What a connection asks of the core, gathered over one read burst and handed over in one
/// `execute`, in the order the client sent it.
package enum CoreRequest: Sendable {
    /// A raw-mode client publish, already allowed by the connection.
    case publish(TopicName, ByteBuffer, binary: Bool)
    /// A JSON-mode request.
    case request(ClientRequest)
    /// A JSON-mode `auth` op, its token verified by the connection.
    case authorize(Result<Grants, TokenError>, id: JSONValue?)
}

extension BrokerCore {
    package func perform(_ requests: [CoreRequest], from subscriber: Subscriber) {
        for request in requests {
            switch request {
            case .publish(let topic, let payload, let binary):
                guard subscriber.isAttached else { continue }
                submit(topic: topic, payload: payload, retain: false, binary: binary) { [unowned self] result in
                    // Raw mode has no reply to carry a refusal: the client is closed with
                    // 1013 so that it knows its message was not taken and tries again.
                    guard case .failure(.unavailable) = result, subscriber.isAttached else { return }
                    subscriber.outbox.enqueue(.close(CloseCode.tryAgainLater), to: subscriber)
                    detach(subscriber)
                    scheduleSend()
                }
            case .request(let request):
                handle(request, from: subscriber)
            case .authorize(let result, let id):
                authorize(subscriber, grants: result, id: id)
            }
        }
    }
}
