import JSON

/// The JOSE header checks: HS256, and nothing herald would have to understand to verify.
enum TokenHeader {
    static func check(_ bytes: [UInt8]) throws(TokenError) {
        guard let header = parseJSON(bytes), case .object = header else {
            throw TokenError(.malformed, "header is not a JSON object")
        }
        switch header["alg"] {
        case .string("HS256"): break
        case nil: throw TokenError(.unsupportedAlgorithm, "header has no alg")
        default: throw TokenError(.unsupportedAlgorithm, "alg is not HS256")
        }
        switch header["typ"] {
        case nil, .string: break
        default: throw TokenError(.malformed, "typ is not a string")
        }
        // RFC 7515 §4.1.11: extensions listed in `crit` must be understood, and herald knows none.
        guard header["crit"] == nil else { throw TokenError(.malformed, "crit extensions are not supported") }
    }
}

/// nil unless `bytes` are one JSON value.
func parseJSON(_ bytes: [UInt8]) -> JSONValue? {
    bytes.withUnsafeBytes { try? JSONParser.parse($0) }
}
