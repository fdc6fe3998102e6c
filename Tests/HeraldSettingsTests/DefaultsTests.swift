import HeraldSettings
import Logging
import Testing
import Topics

@Suite struct DefaultsTests {
    @Test func defaultsAreTheContractsDefaults() {
        let settings = Settings()
        #expect(settings.listenHost == "127.0.0.1")
        #expect(settings.listenPort == 8080)
        #expect(settings.socketPath == "./herald.sock")
        #expect(settings.threads >= 1)
        #expect(settings.historyPerTopic == 100)
        #expect(settings.compression == true)
        #expect(settings.compressionThreshold == 64)
        #expect(settings.deflateWindowBits == 15)
        #expect(settings.deflateMemoryLevel == 8)
        #expect(settings.maxMessageBytes == 1_048_576)
        #expect(settings.maxFrameBytes == 1_048_576)
        #expect(settings.maxPendingBytes == 1_048_576)
        #expect(settings.slowConsumer == .disconnect)
        #expect(settings.handshakeTimeoutSeconds == 10)
        #expect(settings.pingIntervalSeconds == 30)
        #expect(settings.idleTimeoutSeconds == 75)
        #expect(settings.maxSubscriptionsPerConnection == 100)
        #expect(settings.maxConnections == 10_000)
        #expect(settings.maxLineBytes == 1024)
        #expect(settings.allowClientPublish.isEmpty)
        #expect(settings.shutdownGraceSeconds == 5)
        #expect(settings.logLevel == .info)
        #expect(settings.logFormat == .text)
    }

    @Test func noArgumentsLoadTheDefaults() throws {
        let loaded = try Settings.load(SettingsSource(arguments: [], environment: [:]))
        #expect(loaded.settings == Settings())
        #expect(loaded.configPath == nil)
    }

    @Test func heraldSocketReplacesTheDefaultSocket() throws {
        #expect(try load([], environment: ["HERALD_SOCKET": "/run/herald/pub.sock"]).socketPath == "/run/herald/pub.sock")
        #expect(Settings(environment: ["HERALD_SOCKET": "/tmp/x.sock"]).socketPath == "/tmp/x.sock")
    }

    @Test func anEmptyHeraldSocketIsIgnored() throws {
        #expect(try load([], environment: ["HERALD_SOCKET": ""]).socketPath == "./herald.sock")
        #expect(try load([], environment: ["OTHER": "/x.sock"]).socketPath == "./herald.sock")
    }

    @Test func theSocketFlagAndTheFileWinOverHeraldSocket() throws {
        let environment = ["HERALD_SOCKET": "/env.sock"]
        #expect(try load(["--socket", "/flag.sock"], environment: environment).socketPath == "/flag.sock")
        let file = try ConfigFixture(#"socket = "/file.sock""#)
        #expect(try file.load(environment: environment).socketPath == "/file.sock")
    }

    @Test func validateChecksSettingsBuiltInCode() throws {
        var settings = Settings()
        try settings.validate()
        settings.maxLineBytes = 10
        #expect(throws: SettingsError("--max-line-bytes must be at least 64, not 10")) { try settings.validate() }
        settings.maxLineBytes = 64
        settings.deflateWindowBits = 16
        #expect(throws: SettingsError("--deflate-window-bits must be 9 to 15, not 16")) { try settings.validate() }
    }

    @Test func clientPublishIsAllowedOnlyWhereAPatternMatches() throws {
        var settings = Settings()
        #expect(!settings.allowsClientPublish(to: try .init("chat.room")))
        settings = try load(["--allow-client-publish", "chat.>"])
        #expect(settings.allowsClientPublish(to: try .init("chat.room")))
        #expect(!settings.allowsClientPublish(to: try .init("prices.eur")))
    }

    @Test func errorsAreOneLine() {
        #expect(SettingsError("first\nsecond\r\nthird").description == "first second third")
    }
}
