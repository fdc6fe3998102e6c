import HeraldAuth

/// Arbitrary bytes against the token verifier: every outcome is grants or a refusal, never
/// a crash. A random token almost never carries a valid signature, so the first byte also
/// chooses to sign the rest as a payload or as a header, to reach the decoders behind it.
private let keys = try! AuthKeys(parsing: "fuzz-key-one\nfuzz-key-two\n")
private let now = 1_700_000_000.0

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzToken(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    let rest = UnsafeBufferPointer(start: data + 1, count: size - 1)
    let token: String
    switch data[0] % 3 {
    case 0: token = String(decoding: rest, as: UTF8.self)
    case 1: token = TokenSigner.sign(header: #"{"alg":"HS256"}"#.utf8, payload: rest, keys: keys)
    default: token = TokenSigner.sign(header: rest, payload: #"{"subscribe":["a.>"]}"#.utf8, keys: keys)
    }
    switch TokenVerifier.verify(token: token, keys: keys, now: now) {
    case .success(let grants):
        precondition(grants.expiresAt.map { $0 > now } ?? true, "accepted an expired token")
    case .failure(let error):
        precondition(!error.detail.isEmpty)
    }
    return 0
}
