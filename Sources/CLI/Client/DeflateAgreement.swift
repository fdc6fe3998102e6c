import Deflate

/// The broker's `Sec-WebSocket-Extensions` answer as a client must read it (RFC 7692 §5,
/// §7.1): at most the one extension offered, each parameter once and in range, or the
/// client fails the connection. Only inbound messages are compressed on herald's
/// connections, so the only term that matters afterwards is whether the server resets its
/// context after each message.
package struct DeflateAgreement: Equatable {
    package var serverNoContextTakeover: Bool

    /// nil when the server declined (or nothing was offered and nothing answered).
    package static func read(responseHeaderValues: [String], offered: Bool) throws(WebSocketClientError) -> DeflateAgreement? {
        let elements = ExtensionOffer.parse(headerValues: responseHeaderValues)
        guard !elements.isEmpty else { return nil }
        guard offered else { throw invalid("the broker answered with an extension that was not offered") }
        guard elements.count == 1, let element = elements[0], element.name == "permessage-deflate" else {
            throw invalid("the broker answered with extensions other than the permessage-deflate offered: \(responseHeaderValues.joined(separator: ", "))")
        }
        var agreement = DeflateAgreement(serverNoContextTakeover: false)
        var seen: Set<String> = []
        for parameter in element.parameters {
            guard seen.insert(parameter.name).inserted else { throw invalid("permessage-deflate parameter \(parameter.name) repeated") }
            switch parameter.name {
            case "server_no_context_takeover":
                guard parameter.value == nil else { throw invalid("server_no_context_takeover takes no value") }
                agreement.serverNoContextTakeover = true
            case "client_no_context_takeover":
                guard parameter.value == nil else { throw invalid("client_no_context_takeover takes no value") }
            case "server_max_window_bits", "client_max_window_bits":
                // A 15-bit inflate window reads data made with any smaller one, so the value
                // only needs to be valid.
                guard let value = parameter.value, let bits = Int(value), (8...15).contains(bits), String(bits) == value else {
                    throw invalid("\(parameter.name) needs a value from 8 to 15")
                }
            default:
                throw invalid("unknown permessage-deflate parameter \(parameter.name)")
            }
        }
        return agreement
    }

    private static func invalid(_ reason: String) -> WebSocketClientError { .invalidHandshake(reason) }
}
