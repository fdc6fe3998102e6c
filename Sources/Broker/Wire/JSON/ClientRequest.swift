import ExtrasBase64
import JSON
import NIOCore

/// A JSON-mode control message (PROTOCOL.md §4.3), parsed on the connection's own loop.
package struct ClientRequest {
    package enum Operation {
        case subscribe(pattern: String, since: UInt64?, epoch: String?)
        case unsubscribe(pattern: String)
        /// `binary`: the data came base64-encoded, which marks it binary end to end.
        case publish(topic: String, payload: ByteBuffer, retain: Bool, binary: Bool)
        case ping
        /// A new token for the connection (PROTOCOL.md §7); verified on the connection's loop.
        case auth(token: String)
    }

    package struct Failure: Error {
        package var code: String
        package var message: String

        package init(code: String, message: String) {
            self.code = code
            self.message = message
        }
    }

    /// Echoed in the reply as the client wrote it.
    package var id: JSONValue?
    package var operation: Result<Operation, Failure>

    package init(id: JSONValue?, operation: Result<Operation, Failure>) {
        self.id = id
        self.operation = operation
    }

    package static func parse(_ text: ByteBuffer) -> ClientRequest {
        let parsed = text.withUnsafeReadableBytes { bytes in Result { () throws(JSONParser.Error) in try JSONParser.parse(bytes) } }
        guard case .success(let value) = parsed else {
            if case .failure(let error) = parsed {
                return ClientRequest(id: nil, operation: .failure(Failure(code: "bad_request", message: "not JSON: \(error.reason) at byte \(error.offset)")))
            }
            fatalError("unreachable")
        }
        guard case .object = value else {
            return ClientRequest(id: nil, operation: .failure(Failure(code: "bad_request", message: "a request is a JSON object")))
        }
        let id = value["id"]
        do {
            return ClientRequest(id: id, operation: .success(try operation(of: value)))
        } catch {
            return ClientRequest(id: id, operation: .failure(error))
        }
    }

    private static func operation(of value: JSONValue) throws(Failure) -> Operation {
        guard let op = value["op"] else { throw Failure(code: "bad_request", message: "missing field 'op'") }
        guard case .string(let name) = op else { throw Failure(code: "bad_request", message: "'op' must be a string") }
        switch name {
        case "subscribe":
            let pattern = try string(value, "topic")
            var since: UInt64?
            if let raw = value["since"], raw != .null {
                guard case .number(let text) = raw, let number = UInt64(text) else {
                    throw Failure(code: "bad_request", message: "'since' must be a non-negative integer")
                }
                since = number
            }
            var epoch: String?
            if let raw = value["epoch"], raw != .null {
                guard case .string(let text) = raw else { throw Failure(code: "bad_request", message: "'epoch' must be a string") }
                epoch = text
            }
            return .subscribe(pattern: pattern, since: since, epoch: epoch)
        case "unsubscribe":
            return .unsubscribe(pattern: try string(value, "topic"))
        case "publish":
            let topic = try string(value, "topic")
            guard let data = value["data"] else { throw Failure(code: "bad_request", message: "missing field 'data'") }
            var retain = false
            if let raw = value["retain"], raw != .null {
                guard case .bool(let flag) = raw else { throw Failure(code: "bad_request", message: "'retain' must be true or false") }
                retain = flag
            }
            let encoding = value["encoding"]
            let binary = encoding.map { $0 != .null } ?? false
            return .publish(topic: topic, payload: try payload(of: data, encoding: encoding), retain: retain, binary: binary)
        case "ping":
            return .ping
        case "auth":
            return .auth(token: try string(value, "token"))
        default:
            throw Failure(code: "unknown_op", message: "unknown op '\(name)'")
        }
    }

    /// PROTOCOL.md §4.3: a string is published as its UTF-8 bytes (or decoded with
    /// `"encoding":"base64"`), anything else as its compact JSON text.
    private static func payload(of data: JSONValue, encoding: JSONValue?) throws(Failure) -> ByteBuffer {
        var buffer = ByteBuffer()
        switch (data, encoding) {
        case (.string(let text), .string("base64")?):
            guard let bytes = try? Base64.decode(string: text) else {
                throw Failure(code: "bad_request", message: "'data' is not valid base64")
            }
            buffer.writeBytes(bytes)
        case (_, .some(let other)) where other != .null:
            throw Failure(code: "bad_request", message: "'encoding' must be \"base64\" with string data")
        case (.string(let text), _):
            buffer.writeString(text)
        default:
            JSONWriter.write(data, into: &buffer)
        }
        return buffer
    }

    private static func string(_ value: JSONValue, _ field: String) throws(Failure) -> String {
        guard let raw = value[field] else { throw Failure(code: "bad_request", message: "missing field '\(field)'") }
        guard case .string(let text) = raw else { throw Failure(code: "bad_request", message: "'\(field)' must be a string") }
        return text
    }
}
