import Digest
import Deflate
import ExtrasBase64
import NIOHTTP1
import Topics

/// What to answer an HTTP request on the WebSocket listener (PROTOCOL.md §4), decided without
/// any I/O so that each rule and their order can be tested on requests alone.
package enum HandshakeDecision: Equatable {
    case health
    case reject(HTTPResponseStatus, headers: [(String, String)] = [], message: String)
    case upgrade(Route, accept: String, deflate: DeflateParameters?)
    /// `POST /publish/{topic}` (with a token) and `GET /metrics` (with `--metrics`): plain
    /// HTTP requests the listener answers itself when its settings allow them (PROTOCOL.md §9, §10).
    case publish
    case metrics
    /// `GET /sse/{pattern}` or `/sse?topic=…` (PROTOCOL.md §12), patterns decoded and checked.
    case sse([TopicPattern])

    package enum Route: Equatable {
        case raw(TopicPattern)
        case json
    }

    package static func == (lhs: HandshakeDecision, rhs: HandshakeDecision) -> Bool {
        switch (lhs, rhs) {
        case (.health, .health), (.publish, .publish), (.metrics, .metrics): true
        case let (.sse(a), .sse(b)): a == b
        case let (.reject(a, ah, am), .reject(b, bh, bm)): a == b && am == bm && ah.elementsEqual(bh, by: ==)
        case let (.upgrade(a, ak, ad), .upgrade(b, bk, bd)): a == b && ak == bk && ad == bd
        default: false
        }
    }

    /// The checks apply in PROTOCOL.md §4's order: path (404), pattern (400), upgrade present
    /// (426), method and key (400), version (426).
    package static func decide(method: HTTPMethod, uri: String, headers: HTTPHeaders, negotiator: DeflateNegotiator?) -> HandshakeDecision {
        let path = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? uri
        let route: Route
        if path == "/healthz" {
            return method == .GET || method == .HEAD ? .health : .reject(.methodNotAllowed, headers: [("Allow", "GET, HEAD")], message: "use GET")
        } else if path.hasPrefix("/publish/") {
            return .publish
        } else if path == "/metrics" {
            return method == .GET || method == .HEAD ? .metrics : .reject(.methodNotAllowed, headers: [("Allow", "GET, HEAD")], message: "use GET")
        } else if path == "/sse" || path.hasPrefix("/sse/") {
            return sse(method: method, path: path, uri: uri)
        } else if path == "/ws" {
            route = .json
        } else if path.hasPrefix("/topics/") {
            let encoded = path.dropFirst("/topics/".count)
            guard let decoded = PercentDecoding.decode(encoded) else {
                return .reject(.badRequest, message: "the pattern is not valid percent-encoding")
            }
            do {
                route = .raw(try TopicPattern(decoded))
            } catch {
                return .reject(.badRequest, message: error.description)
            }
        } else {
            return .reject(.notFound, message: "no such path; use /topics/{pattern}, /ws, /sse/{pattern}, /sse?topic=P or /healthz")
        }

        guard headerHasToken(headers, "upgrade", "websocket"), headerHasToken(headers, "connection", "upgrade") else {
            return .reject(
                .upgradeRequired, headers: [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Version", "13")],
                message: "this path speaks WebSocket only")
        }
        guard method == .GET else { return .reject(.badRequest, message: "a WebSocket upgrade must be a GET") }
        let keys = headers["sec-websocket-key"]
        guard keys.count == 1, let key = keys.first?.trimmingSpaces, (try? Base64.decode(string: key))?.count == 16 else {
            return .reject(.badRequest, message: "missing or malformed Sec-WebSocket-Key")
        }
        guard headers["sec-websocket-version"].map(\.trimmingSpaces) == ["13"] else {
            return .reject(.upgradeRequired, headers: [("Sec-WebSocket-Version", "13")], message: "only WebSocket version 13 is supported")
        }
        let deflate = negotiator?.negotiate(headerValues: headers["sec-websocket-extensions"])
        return .upgrade(route, accept: acceptValue(for: key), deflate: deflate)
    }

    private static func sse(method: HTTPMethod, path: String, uri: String) -> HandshakeDecision {
        guard method == .GET else { return .reject(.methodNotAllowed, headers: [("Allow", "GET")], message: "an event stream is a GET") }
        var texts: [String] = []
        if path == "/sse" {
            let query = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).dropFirst().first ?? ""
            texts = PublishHTTPRequest.queryValues("topic", in: query)
            guard !texts.isEmpty else { return .reject(.badRequest, message: "name at least one ?topic=PATTERN") }
        } else {
            guard let decoded = PercentDecoding.decode(path.dropFirst("/sse/".count)) else {
                return .reject(.badRequest, message: "the pattern is not valid percent-encoding")
            }
            texts = [decoded]
        }
        var patterns: [TopicPattern] = []
        for text in texts {
            do {
                let pattern = try TopicPattern(text)
                if !patterns.contains(pattern) { patterns.append(pattern) }
            } catch {
                return .reject(.badRequest, message: error.description)
            }
        }
        return .sse(patterns)
    }

    /// RFC 6455 §4.2.2: base64(SHA-1(key + GUID)).
    package static func acceptValue(for key: String) -> String {
        Base64.encodeToString(bytes: SHA1.hash((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8))
    }

    private static func headerHasToken(_ headers: HTTPHeaders, _ name: String, _ token: String) -> Bool {
        headers[name].contains { value in
            value.split(separator: ",").contains { $0.trimmingSpaces.lowercased() == token }
        }
    }
}

extension StringProtocol {
    package var trimmingSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[start...end])
    }
}
