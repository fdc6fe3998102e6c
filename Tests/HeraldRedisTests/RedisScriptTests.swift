import HeraldRedis
import Testing

@Suite struct RedisScriptTests {
    @Test func sha1IsLowercaseHexOfTheSource() {
        // `printf %s "return 1" | sha1sum`
        #expect(RedisScript("return 1").sha1 == "e0e1f9fabfc9d4800c877a703b823ac0578ff8db")
        #expect(RedisScript("").sha1 == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(RedisScript("return '€'").sha1.count == 40)
    }
}
