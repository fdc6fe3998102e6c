import HeraldAuth
import Testing

@Suite struct KeyFileTests {
    let first = TestTokens.firstKey
    let second = TestTokens.secondKey

    func accepts(_ file: String, tokenBy key: String) throws -> Bool {
        let token = TestTokens.make(claims: #"{"subscribe":["a"]}"#, key: key)
        return TokenVerifier.verify(token: token, keys: try AuthKeys(parsing: file), now: TestTokens.now).isSuccess
    }

    @Test func rotation() throws {
        // The new key goes in first; tokens of the old one keep working until its line goes.
        #expect(try accepts("\(second)\n\(first)\n", tokenBy: first))
        #expect(try accepts("\(second)\n\(first)\n", tokenBy: second))
        #expect(try !accepts("\(second)\n", tokenBy: first))
        #expect(try accepts("\(first)\n\(second)", tokenBy: second))
        #expect(try !accepts("\(first)\n", tokenBy: second))
    }

    @Test func linesAndComments() throws {
        let file = "# herald keys, newest first\n\n\(first)\r\n   \n#\(second)\n"
        let keys = try AuthKeys(parsing: file)
        #expect(keys.count == 1)
        #expect(try accepts(file, tokenBy: first))
        #expect(try !accepts(file, tokenBy: second))
        #expect(try !accepts(file, tokenBy: "#" + second))
    }

    @Test func aKeyIsTheRawBytesOfItsLineLessTrailingSpace() throws {
        #expect(try accepts("\(first) \t\r\n", tokenBy: first))
        #expect(try !accepts("  \(first)\n", tokenBy: first))
        #expect(try accepts("  \(first)\n", tokenBy: "  " + first))
        // Not base64-decoded: the text "c2VjcmV0" is the key, not the bytes of "secret".
        #expect(try accepts("c2VjcmV0\n", tokenBy: "c2VjcmV0"))
        #expect(try !accepts("c2VjcmV0\n", tokenBy: "secret"))
        #expect(try accepts("\u{FEFF}\(first)\n", tokenBy: first))
    }

    @Test(arguments: ["", "\n\n", "# only a comment\n", "  \n\t\r\n"])
    func aFileWithoutKeysIsRefused(file: String) {
        #expect(throws: AuthKeysError()) { try AuthKeys(parsing: file) }
    }

    @Test func shortKeysAreReported() throws {
        let keys = try AuthKeys(parsing: "# keys\nshort\n\(first)\nsecret\n")
        #expect(keys.shortKeyLines == [2, 4])
        #expect(try accepts("short\n", tokenBy: "short"))
    }
}
