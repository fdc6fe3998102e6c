import HeraldAuth
import HeraldCore
import HeraldWire
import NIOHTTP1
import Topics

/// PROTOCOL.md §7's checks of a WebSocket handshake, after those of §4 and in its
/// order: origin (403), token (401 with `WWW-Authenticate: Bearer`), the raw-mode pattern
/// (403). Pure, so that each rule and the order are tested on requests alone; the token is
/// verified here, synchronously, on the connection's loop.
enum HandshakeAccess {
    enum Verdict: Equatable {
        /// `grants` nil: no token (anonymous, or access control off).
        case allow(grants: Grants?)
        case refuse(HTTPResponseStatus, headers: [(String, String)], reason: String, isAuthFailure: Bool)

        static func == (lhs: Verdict, rhs: Verdict) -> Bool {
            switch (lhs, rhs) {
            case let (.allow(a), .allow(b)): a == b
            case let (.refuse(a, ah, ar, af), .refuse(b, bh, br, bf)): a == b && ar == br && af == bf && ah.elementsEqual(bh, by: ==)
            default: false
            }
        }
    }

    private static let challenge = [("WWW-Authenticate", "Bearer")]

    static func decide(route: HandshakeDecision.Route, uri: String, headers: HTTPHeaders, policy: AccessPolicy, now: Double) -> Verdict {
        let patterns: [TopicPattern]? = if case .raw(let pattern) = route { [pattern] } else { nil }
        return decide(patterns: patterns, uri: uri, headers: headers, policy: policy, now: now)
    }

    /// `patterns`: what a raw-mode connection or an event stream subscribes to, each checked;
    /// nil for JSON mode, whose subscriptions are checked one by one later.
    static func decide(patterns: [TopicPattern]?, uri: String, headers: HTTPHeaders, policy: AccessPolicy, now: Double) -> Verdict {
        if !policy.origins.isEmpty, let origin = headers["origin"].first, !policy.origins.allows(origin: origin) {
            return .refuse(.forbidden, headers: [], reason: "origin '\(origin.prefix(200))' is not allowed", isAuthFailure: false)
        }
        guard let keys = policy.keys else { return .allow(grants: nil) }
        guard let token = bearerToken(headers) ?? queryToken(uri) else {
            let anonymousAllowed =
                if let patterns {
                    patterns.allSatisfy { policy.maySubscribe(to: $0, grants: nil) }
                } else {
                    !policy.allowAnonymous.isEmpty
                }
            guard anonymousAllowed else {
                return .refuse(.unauthorized, headers: challenge, reason: "a token is required", isAuthFailure: true)
            }
            return .allow(grants: nil)
        }
        switch TokenVerifier.verify(token: token, keys: keys, now: now) {
        case .failure(let error):
            return .refuse(.unauthorized, headers: challenge, reason: "invalid token: \(error)", isAuthFailure: true)
        case .success(let grants):
            if let pattern = patterns?.first(where: { !grants.maySubscribe(to: $0) }) {
                let holder = grants.subject.map { " of '\($0.prefix(64))'" } ?? ""
                return .refuse(.forbidden, headers: [], reason: "the token\(holder) does not grant '\(pattern)'", isAuthFailure: false)
            }
            return .allow(grants: grants)
        }
    }

    /// `Authorization: Bearer JWT`, which wins over the query when both are given.
    static func bearerToken(_ headers: HTTPHeaders) -> Substring? {
        for value in headers["authorization"] {
            let trimmed = value.drop { $0 == " " }
            guard trimmed.count > 7, trimmed.prefix(7).lowercased() == "bearer " else { continue }
            return trimmed.dropFirst(7).drop { $0 == " " }
        }
        return nil
    }

    /// `?token=JWT`, the only way a browser's WebSocket can send one.
    static func queryToken(_ uri: String) -> Substring? {
        guard let question = uri.firstIndex(of: "?") else { return nil }
        for pair in uri[uri.index(after: question)...].split(separator: "&") where pair.hasPrefix("token=") {
            let raw = pair.dropFirst("token=".count)
            return PercentDecoding.decode(raw).map { Substring($0) } ?? raw
        }
        return nil
    }
}
