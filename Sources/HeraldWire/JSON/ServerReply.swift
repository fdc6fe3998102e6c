import NIOCore

/// The JSON replies of CONTRACT §4.3 other than messages.
package enum ServerReply {
    package static func ok(id: JSONValue?, epoch: String, seq: UInt64) -> ByteBuffer {
        var json = ByteBuffer()
        json.writeStaticString("{\"op\":\"ok\"")
        writeID(id, into: &json)
        json.writeStaticString(",\"epoch\":")
        JSONWriter.writeString(epoch, into: &json)
        json.writeString(",\"seq\":\(seq)}")
        return json
    }

    package static func error(id: JSONValue?, code: String, message: String) -> ByteBuffer {
        var json = ByteBuffer()
        json.writeStaticString("{\"op\":\"error\"")
        writeID(id, into: &json)
        json.writeStaticString(",\"code\":")
        JSONWriter.writeString(code, into: &json)
        json.writeStaticString(",\"message\":")
        JSONWriter.writeString(message, into: &json)
        json.writeStaticString("}")
        return json
    }

    package static func pong(id: JSONValue?) -> ByteBuffer {
        var json = ByteBuffer()
        json.writeStaticString("{\"op\":\"pong\"")
        writeID(id, into: &json)
        json.writeStaticString("}")
        return json
    }

    /// `topic` nil: the client's epoch is not this run's, so its `since` means nothing here.
    package static func gap(topic: String?, since: UInt64) -> ByteBuffer {
        var json = ByteBuffer()
        json.writeStaticString("{\"op\":\"gap\",\"topic\":")
        if let topic { JSONWriter.writeString(topic, into: &json) } else { json.writeStaticString("null") }
        json.writeString(",\"since\":\(since)}")
        return json
    }

    private static func writeID(_ id: JSONValue?, into json: inout ByteBuffer) {
        guard let id else { return }
        json.writeStaticString(",\"id\":")
        JSONWriter.write(id, into: &json)
    }
}
