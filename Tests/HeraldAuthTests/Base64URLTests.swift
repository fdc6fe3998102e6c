import HeraldAuth
import Testing
import TestSupport

@Suite struct Base64URLTests {
    @Test func roundTripsAgainstFoundationsBase64() {
        var random = SplitMix64(seed: 64)
        for length in 0..<200 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            let encoded = Base64URL.encode(bytes)
            #expect(encoded == TestTokens.base64url(bytes))
            #expect(Base64URL.decode(Array(encoded.utf8)) == bytes)
        }
    }

    @Test(arguments: ["A", "AB=", "AB==", "QQ=", "a+b/", "ab cd", "ab\ncd", "QR", "QUF", "ab.c", "é"])
    func refused(text: String) {
        #expect(Base64URL.decode(Array(text.utf8)) == nil)
    }

    @Test(arguments: [("", []), ("QQ", [0x41]), ("QUE", [0x41, 0x41]), ("-_8", [0xFB, 0xFF]), ("____", [0xFF, 0xFF, 0xFF])] as [(String, [UInt8])])
    func decoded(text: String, bytes: [UInt8]) {
        #expect(Base64URL.decode(Array(text.utf8)) == bytes)
    }
}
