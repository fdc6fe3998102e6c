// Differential-test driver. One request per stdin line, one answer per stdout line:
//   sha1|sha256 - HEXMSG             digest, one update call
//   sha1-stream|sha256-stream HEXSIZES HEXMSG
//                                    digest, message fed in chunks whose sizes
//                                    cycle through the bytes of HEXSIZES; odd
//                                    chunks go in as a non-contiguous lazy view;
//                                    at least one size must be non-zero
//   hmac HEXKEY HEXMSG               HMAC-SHA256
//   verify HEXKEY HEXMSG HEXCODE     HMACSHA256.isValid: true | false
// An empty field is written as "-".
import Digest

func bytes(_ field: Substring) -> [UInt8]? {
    if field == "-" { return [] }
    let digits = Array(field.utf8)
    guard digits.count % 2 == 0 else { return nil }
    var result: [UInt8] = []
    result.reserveCapacity(digits.count / 2)
    for index in stride(from: 0, to: digits.count, by: 2) {
        guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
        result.append(high << 4 | low)
    }
    return result
}

func nibble(_ digit: UInt8) -> UInt8? {
    switch digit {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
    default: nil
    }
}

func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var text: [UInt8] = []
    for byte in bytes {
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 0x0f)])
    }
    return String(decoding: text, as: UTF8.self)
}

/// Runs `update` over consecutive chunks of `message`, alternating contiguous
/// slices and lazy views so both input paths of the library are exercised.
func feed(_ message: [UInt8], sizes: [UInt8], _ update: (any Collection<UInt8>) -> Void) {
    var start = 0
    var turn = 0
    while start < message.count {
        let size = Int(sizes[turn % sizes.count])
        let chunk = message[start..<min(start + size, message.count)]
        if turn % 2 == 0 { update(chunk) } else { update(chunk.lazy.map { $0 }) }
        start += chunk.count
        turn += 1
    }
}

func answer(_ line: String) -> String? {
    let fields = line.split(separator: " ")
    guard fields.count >= 3, let key = bytes(fields[1]), let message = bytes(fields[2]) else { return nil }
    switch (fields[0], fields.count) {
    case ("sha1", 3):
        return hex(SHA1.hash(message))
    case ("sha256", 3):
        return hex(SHA256.hash(message))
    case ("sha1-stream", 3) where key.contains(where: { $0 != 0 }):
        var hasher = SHA1()
        feed(message, sizes: key) { hasher.update($0) }
        return hex(hasher.finalize())
    case ("sha256-stream", 3) where key.contains(where: { $0 != 0 }):
        var hasher = SHA256()
        feed(message, sizes: key) { hasher.update($0) }
        return hex(hasher.finalize())
    case ("hmac", 3):
        return hex(HMACSHA256(key: key).authenticationCode(for: message))
    case ("verify", 4):
        guard let code = bytes(fields[3]) else { return nil }
        return String(HMACSHA256(key: key).isValid(code, for: message))
    default:
        return nil
    }
}

while let line = readLine() {
    print(answer(line) ?? "error: \(line.prefix(40))")
}
