import HeraldSettings
import Logging
import Testing

@Suite struct CommandLineTests {
    @Test func everyKindIsReadFromFlags() throws {
        let settings = try load([
            "--listen", "0.0.0.0:0", "--socket", "/run/herald.sock", "--threads", "3", "--history", "0",
            "--no-compression", "--compression-threshold", "0", "--deflate-window-bits", "9",
            "--max-message-bytes", "2048", "--max-frame-bytes", "1024", "--max-pending-bytes", "4096",
            "--slow-consumer", "drop", "--handshake-timeout", "250ms", "--ping-interval", "15m",
            "--idle-timeout", "1h", "--max-subscriptions", "7", "--max-connections", "8", "--max-line-bytes", "64",
            "--allow-client-publish", "chat.>", "--shutdown-grace", "0", "--log-level", "debug", "--log-format", "json",
        ])
        #expect(settings.listenHost == "0.0.0.0")
        #expect(settings.listenPort == 0)
        #expect(settings.socketPath == "/run/herald.sock")
        #expect(settings.threads == 3)
        #expect(settings.historyPerTopic == 0)
        #expect(settings.compression == false)
        #expect(settings.compressionThreshold == 0)
        #expect(settings.deflateWindowBits == 9)
        #expect(settings.maxMessageBytes == 2048)
        #expect(settings.maxFrameBytes == 1024)
        #expect(settings.maxPendingBytes == 4096)
        #expect(settings.slowConsumer == .drop)
        #expect(settings.handshakeTimeoutSeconds == 0.25)
        #expect(settings.pingIntervalSeconds == 900)
        #expect(settings.idleTimeoutSeconds == 3600)
        #expect(settings.maxSubscriptionsPerConnection == 7)
        #expect(settings.maxConnections == 8)
        #expect(settings.maxLineBytes == 64)
        #expect(settings.allowClientPublish.map(\.string) == ["chat.>"])
        #expect(settings.shutdownGraceSeconds == 0)
        #expect(settings.logLevel == .debug)
        #expect(settings.logFormat == .json)
    }

    @Test func valuesMayFollowAnEqualsSign() throws {
        let settings = try load(["--listen=localhost:65535", "--history=5", "--socket=/a=b.sock", "--log-level=trace"])
        #expect(settings.listenHost == "localhost")
        #expect(settings.listenPort == 65535)
        #expect(settings.historyPerTopic == 5)
        #expect(settings.socketPath == "/a=b.sock")
        #expect(settings.logLevel == .trace)
    }

    @Test(arguments: [
        ("[::1]:9000", "::1", 9000),
        ("[fe80::1%eth0]:1", "fe80::1%eth0", 1),
        ("example.org:443", "example.org", 443),
    ])
    func listenTakesHostAndPort(text: String, host: String, port: Int) throws {
        let settings = try load(["--listen", text])
        #expect(settings.listenHost == host)
        #expect(settings.listenPort == port)
    }

    @Test(arguments: ["127.0.0.1", "127.0.0.1:65536", "127.0.0.1:-1", ":8080", "::1:8080", "[::1]", "host:port", "[]:80"])
    func listenRefusesWhatIsNotHostAndPort(text: String) {
        #expect(loadError(["--listen", text]) == "--listen takes HOST:PORT such as 127.0.0.1:8080 or [::1]:8080, not '\(text)'")
    }

    @Test func booleansAreFlagsWithANoForm() throws {
        #expect(try load(["--compression"]).compression == true)
        #expect(try load(["--no-compression"]).compression == false)
        #expect(try load(["--no-compression", "--compression"]).compression == true)
        #expect(try load(["--compression=false"]).compression == false)
        #expect(loadError(["--no-compression=true"]) == "--no-compression takes no value")
        #expect(loadError(["--compression=yes"]) == "--compression takes true or false, not 'yes'")
        #expect(loadError(["--no-history"]) == "unknown option '--no-history'")
    }

    @Test func aRepeatableOptionAccumulatesInOrder() throws {
        let settings = try load(["--allow-client-publish", "chat.>", "--history", "3", "--allow-client-publish=prices.*"])
        #expect(settings.allowClientPublish.map(\.string) == ["chat.>", "prices.*"])
    }

    @Test func aSingleOptionGivenTwiceKeepsTheLast() throws {
        #expect(try load(["--history", "1", "--history", "2"]).historyPerTopic == 2)
        #expect(loadError(["--history", "x", "--history", "2"]) == "--history takes a whole number, not 'x'")
    }

    @Test func badValuesNameTheOption() {
        #expect(loadError(["--max-pending-bytes", "x"]) == "--max-pending-bytes takes a whole number, not 'x'")
        #expect(loadError(["--history", "1.5"]) == "--history takes a whole number, not '1.5'")
        #expect(loadError(["--slow-consumer", "kick"]) == "--slow-consumer takes disconnect or drop, not 'kick'")
        #expect(
            loadError(["--log-level", "loud"])
                == "--log-level takes trace, debug, info, notice, warning, error or critical, not 'loud'")
        #expect(loadError(["--log-format", "xml"]) == "--log-format takes text or json, not 'xml'")
        #expect(loadError(["--idle-timeout", "soon"]) == "--idle-timeout takes a duration such as 30, 0.5, 250ms, 15m or 1h, not 'soon'")
        #expect(loadError(["--socket="]) == "--socket takes a path, not ''")
        #expect(loadError(["--allow-client-publish", "chat..x"])?.hasPrefix("--allow-client-publish takes a topic pattern, not 'chat..x': ") == true)
    }

    @Test func theContractsBoundsStillHold() {
        #expect(loadError(["--history", "-1"]) == "--history must be 0 or more, not -1")
        #expect(loadError(["--compression-threshold", "-1"]) == "--compression-threshold must be 0 or more, not -1")
        #expect(loadError(["--deflate-window-bits", "8"]) == "--deflate-window-bits must be 9 to 15, not 8")
        #expect(loadError(["--deflate-window-bits", "16"]) == "--deflate-window-bits must be 9 to 15, not 16")
        #expect(loadError(["--max-message-bytes", "0"]) == "--max-message-bytes must be positive, not 0")
        #expect(loadError(["--max-frame-bytes", "0"]) == "--max-frame-bytes must be positive, not 0")
        #expect(loadError(["--max-pending-bytes", "0"]) == "--max-pending-bytes must be positive, not 0")
        #expect(loadError(["--handshake-timeout", "0"]) == "--handshake-timeout must be positive, not 0s")
        #expect(loadError(["--ping-interval", "0ms"]) == "--ping-interval must be positive, not 0s")
        #expect(loadError(["--idle-timeout", "-2"]) == "--idle-timeout must be positive, not -2s")
        #expect(loadError(["--max-subscriptions", "0"]) == "--max-subscriptions must be positive, not 0")
        #expect(loadError(["--max-connections", "0"]) == "--max-connections must be positive, not 0")
        #expect(loadError(["--max-line-bytes", "63"]) == "--max-line-bytes must be at least 64, not 63")
        #expect(loadError(["--shutdown-grace", "-1"]) == "--shutdown-grace must be 0 or more, not -1s")
        #expect(loadError(["--threads", "0"]) == "--threads must be at least 1, not 0")
    }

    @Test func anUnknownOptionIsNamedWithTheNearestOne() {
        #expect(loadError(["--max-pendin-bytes", "5"]) == "unknown option '--max-pendin-bytes' (did you mean --max-pending-bytes?)")
        #expect(loadError(["--frobnicate"]) == "unknown option '--frobnicate'")
        #expect(loadError(["--help"]) == "unknown option '--help'")
    }

    @Test func aMissingValueNamesTheOption() {
        #expect(loadError(["--history"]) == "--history needs a value: --history N")
        #expect(loadError(["--listen", "--no-compression"]) == "--listen needs a value: --listen HOST:PORT")
        #expect(loadError(["--config"]) == "--config needs a value: --config FILE")
    }

    @Test func positionalArgumentsAreRefused() {
        #expect(loadError(["127.0.0.1:8080"])?.hasPrefix("unexpected argument '127.0.0.1:8080'") == true)
        #expect(loadError(["-h"])?.hasPrefix("unexpected argument '-h'") == true)
    }

    @Test func errorsSayWhetherTheCommandLineIsWrong() {
        func origin(_ arguments: [String]) -> SettingsError.Origin? {
            do {
                _ = try load(arguments)
                return nil
            } catch {
                return error.origin
            }
        }
        #expect(origin(["--bogus"]) == .commandLine)
        #expect(origin(["--history"]) == .commandLine)
        #expect(origin(["--history", "x"]) == .commandLine)
        #expect(origin(["--history", "-1"]) == .commandLine)
        #expect(origin(["stray"]) == .commandLine)
        #expect(origin(["--tls-cert", "cert.pem"]) == .commandLine)
        #expect(origin(["--config", "/nonexistent/herald.toml"]) == .configuration)
    }

    @Test func aMissingConfigFileIsNamed() {
        #expect(
            loadError(["--config", "/nonexistent/herald.toml"])
                == "cannot read the config file /nonexistent/herald.toml: No such file or directory")
    }
}
