/// `Last-Event-ID: <epoch>:<seq>` (or `?last_event_id=`), where an event stream resumes
/// (PROTOCOL.md §12); the header wins, and an empty one means a fresh start.
package enum EventStreamResume {
    package struct Malformed: Error {}

    package static func parse(header: String?, uri: String) -> Result<(epoch: String, seq: UInt64)?, Malformed> {
        var text = header
        if text == nil || text?.isEmpty == true {
            let query = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).dropFirst().first ?? ""
            text = PublishHTTPRequest.queryValues("last_event_id", in: query).first
        }
        guard let text = text?.trimmingSpaces, !text.isEmpty else { return .success(nil) }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, let seq = UInt64(parts[1]) else { return .failure(Malformed()) }
        return .success((String(parts[0]), seq))
    }
}
