import JSON
import Topics

/// The claims herald reads (PROTOCOL.md §7), from a payload whose signature has been checked.
enum TokenClaims {
    static func grants(from bytes: [UInt8], now: Double) throws(TokenError) -> Grants {
        guard let claims = parseJSON(bytes) else { throw TokenError(.malformed, "payload is not JSON") }
        guard case .object = claims else { throw TokenError(.invalidClaims, "claims are not a JSON object") }
        let subscribe = try patterns(claims["subscribe"], named: "subscribe")
        let publish = try patterns(claims["publish"], named: "publish")
        let expiresAt = try numericDate(claims["exp"], named: "exp")
        let notBefore = try numericDate(claims["nbf"], named: "nbf")
        let subject: String?
        switch claims["sub"] {
        case nil: subject = nil
        case .string(let text): subject = text
        default: throw TokenError(.invalidClaims, "sub is not a string")
        }
        // No leeway: `exp` and `nbf` are compared with `now` as they are (see `TokenVerifier`).
        if let expiresAt, expiresAt <= now { throw TokenError(.expired, "exp is past") }
        if let notBefore, notBefore > now { throw TokenError(.notYetValid, "nbf is ahead") }
        return Grants(subject: subject, subscribe: subscribe, publish: publish, expiresAt: expiresAt)
    }

    private static func patterns(_ value: JSONValue?, named name: StaticString) throws(TokenError) -> [TopicPattern] {
        guard let value else { return [] }
        guard case .array(let elements) = value else { throw TokenError(.invalidClaims, "\(name) is not an array") }
        var patterns: [TopicPattern] = []
        patterns.reserveCapacity(elements.count)
        for element in elements {
            guard case .string(let text) = element, let pattern = try? TopicPattern(text) else {
                throw TokenError(.invalidClaims, "\(name) holds something that is not a valid pattern")
            }
            patterns.append(pattern)
        }
        return patterns
    }

    /// RFC 7519 NumericDate: seconds since 1970 as a JSON number, integer or not.
    private static func numericDate(_ value: JSONValue?, named name: StaticString) throws(TokenError) -> Double? {
        guard let value else { return nil }
        guard case .number(let text) = value, let seconds = Double(text) else {
            throw TokenError(.invalidClaims, "\(name) is not a number")
        }
        return seconds
    }
}
