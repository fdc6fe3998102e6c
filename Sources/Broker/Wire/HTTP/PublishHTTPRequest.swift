import NIOCore
import NIOHTTP1
import Topics

/// One request to the publishing endpoints (PROTOCOL.md §9), routed on its head and then fed
/// its body: a publish keeps at most `maxBodyBytes` of it, so an oversized body is refused
/// with 413 without ever being held whole, and every other body is discarded as it comes.
package struct PublishHTTPRequest {
    package enum Route {
        case publish(TopicName, retain: Bool)
        case stats
        case health
        case metrics
        case refuse(HTTPAnswer)
    }

    package let route: Route
    private let maxBodyBytes: Int
    private var received = ByteBuffer()
    private var tooLarge = false

    package init(method: HTTPMethod, uri: String, maxBodyBytes: Int) {
        self.route = Self.route(method: method, uri: uri)
        self.maxBodyBytes = maxBodyBytes
    }

    /// The payload, or nil when the body was over `maxBodyBytes`.
    package var body: ByteBuffer? { tooLarge ? nil : received }

    package mutating func receive(_ chunk: inout ByteBuffer) {
        guard case .publish = route, !tooLarge else { return }
        guard received.readableBytes + chunk.readableBytes <= maxBodyBytes else {
            tooLarge = true
            received = ByteBuffer()
            return
        }
        received.writeBuffer(&chunk)
    }

    package static func route(method: HTTPMethod, uri: String) -> Route {
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = parts.first.map(String.init) ?? uri
        let query = parts.count > 1 ? parts[1] : ""
        if path.hasPrefix("/publish/") {
            guard method == .POST else { return .refuse(.error(.methodNotAllowed, "method_not_allowed", "use POST", headers: [("Allow", "POST")])) }
            guard let text = PercentDecoding.decode(path.dropFirst("/publish/".count)) else {
                return .refuse(.error(.badRequest, "invalid_topic", "the topic is not valid percent-encoding"))
            }
            do {
                return .publish(try TopicName(text), retain: queryFlag("retain", in: query))
            } catch {
                return .refuse(.error(.badRequest, "invalid_topic", error.description))
            }
        }
        let route: Route
        switch path {
        case "/stats": route = .stats
        case "/healthz": route = .health
        case "/metrics": route = .metrics
        default:
            return .refuse(.error(.notFound, "not_found", "no such path; use /publish/{topic}, /stats, /healthz or /metrics"))
        }
        guard method == .GET || method == .HEAD else {
            return .refuse(.error(.methodNotAllowed, "method_not_allowed", "use GET", headers: [("Allow", "GET, HEAD")]))
        }
        return route
    }

    /// A body sent as `application/octet-stream` is binary even when it is valid UTF-8, as
    /// `PUB … BINARY` is (PROTOCOL.md §4.2): never delivered as text.
    package static func marksBinary(_ headers: HTTPHeaders) -> Bool {
        headers["content-type"].contains { $0.trimmingSpaces.lowercased().hasPrefix("application/octet-stream") }
    }

    /// `retain=true` (or `1`, or a bare `retain`) in a query string.
    package static func queryFlag(_ name: String, in query: Substring) -> Bool {
        query.split(separator: "&").contains { pair in
            let keyValue = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard keyValue[0] == name else { return false }
            return keyValue.count == 1 || ["true", "1", "yes"].contains(keyValue[1].lowercased())
        }
    }

    /// The value of `name` in a query string, percent-decoded; every value when repeated.
    package static func queryValues(_ name: String, in query: Substring) -> [String] {
        query.split(separator: "&").compactMap { pair in
            let keyValue = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard keyValue[0] == name, keyValue.count == 2 else { return nil }
            return PercentDecoding.decode(String(keyValue[1].map { $0 == "+" ? " " : $0 }))
        }
    }
}
