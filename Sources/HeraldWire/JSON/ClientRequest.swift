import NIOCore

/// A JSON-mode control message (CONTRACT §4.3), parsed on the connection's own loop.
struct ClientRequest {
    enum Operation {
        case subscribe(pattern: String, since: UInt64?, epoch: String?)
        case unsubscribe(pattern: String)
        case publish(topic: String, payload: ByteBuffer, retain: Bool)
        case ping
    }

    struct Failure: Error {
        var code: String
        var message: String
    }

    /// Echoed in the reply as the client wrote it.
    var id: JSONValue?
    var operation: Result<Operation, Failure>

    static func parse(_ text: ByteBuffer) -> ClientRequest {
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
            return .publish(topic: topic, payload: try payload(of: data, encoding: value["encoding"]), retain: retain)
        case "ping":
            return .ping
        default:
            throw Failure(code: "unknown_op", message: "unknown op '\(name)'")
        }
    }

    /// CONTRACT §4.3: a string is published as its UTF-8 bytes (or decoded with
    /// `"encoding":"base64"`), anything else as its compact JSON text.
    private static func payload(of data: JSONValue, encoding: JSONValue?) throws(Failure) -> ByteBuffer {
        var buffer = ByteBuffer()
        switch (data, encoding) {
        case (.string(let text), .string("base64")?):
            guard let bytes = Base64.decode(text) else {
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
