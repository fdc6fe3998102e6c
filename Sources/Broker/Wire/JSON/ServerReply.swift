import JSON
import NIOCore

/// The JSON replies of PROTOCOL.md §4.3 other than messages. Replies are rare next to
/// messages, so they are built as `JSONValue`s rather than written by hand.
package enum ServerReply {
    package static func ok(id: JSONValue?, epoch: String, seq: UInt64) -> ByteBuffer {
        reply("ok", id: id, [("epoch", .string(epoch)), ("seq", .number(String(seq)))])
    }

    package static func error(id: JSONValue?, code: String, message: String) -> ByteBuffer {
        reply("error", id: id, [("code", .string(code)), ("message", .string(message))])
    }

    /// The reply to an `auth` op: the subscriptions the new token no longer covers.
    package static func authorized(id: JSONValue?, removed: [String]) -> ByteBuffer {
        reply("ok", id: id, [("removed", .array(removed.map(JSONValue.string)))])
    }

    package static func pong(id: JSONValue?) -> ByteBuffer {
        reply("pong", id: id, [])
    }

    /// `topic` nil: the client's epoch is not this run's, so its `since` means nothing here.
    package static func gap(topic: String?, since: UInt64) -> ByteBuffer {
        reply("gap", id: nil, [("topic", topic.map(JSONValue.string) ?? .null), ("since", .number(String(since)))])
    }

    private static func reply(_ op: String, id: JSONValue?, _ fields: [(key: String, value: JSONValue)]) -> ByteBuffer {
        var members: [(key: String, value: JSONValue)] = [("op", .string(op))]
        if let id { members.append(("id", id)) }
        members += fields
        var json = ByteBuffer()
        JSONWriter.write(.object(members), into: &json)
        return json
    }
}
