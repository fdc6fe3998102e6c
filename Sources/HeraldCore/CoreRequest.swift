import HeraldAuth
import HeraldWire
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
                guard subscriber.isAttached, !isShuttingDown else { continue }
                _ = publish(topic: topic, payload: payload, retain: false, binary: binary)
            case .request(let request):
                handle(request, from: subscriber)
            case .authorize(let result, let id):
                authorize(subscriber, grants: result, id: id)
            }
        }
    }
}
