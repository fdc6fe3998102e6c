import HeraldSettings
import Logging
import Testing

@Suite struct ConfigFileTests {
    @Test func everyKindIsReadFromTheFile() throws {
        let file = try ConfigFixture(
            """
            # A comment line.
            listen = "[::]:9001"
            socket = "/run/a#1.sock"   # a comment after a quoted '#'
            threads = 2
            history = 0
            compression = false
            compression-threshold = 128
            deflate_window_bits = 10
            max_message_bytes = 2_048
            max-frame-bytes = 1024
            max_pending_bytes = 4096
            slow_consumer = "drop"
            handshake_timeout = 3
            ping-interval = 0.5
            idle_timeout = "2m"
            max_subscriptions = 9
            max_connections = 11
            max_line_bytes = 100
            allow_client_publish = ["chat.>", "prices.*"]
            shutdown-grace = "250ms"
            log_level = "warning"
            log-format = "json"
            """)
        let settings = try file.load()
        #expect(settings.listenHost == "::")
        #expect(settings.listenPort == 9001)
        #expect(settings.socketPath == "/run/a#1.sock")
        #expect(settings.threads == 2)
        #expect(settings.historyPerTopic == 0)
        #expect(settings.compression == false)
        #expect(settings.compressionThreshold == 128)
        #expect(settings.deflateWindowBits == 10)
        #expect(settings.maxMessageBytes == 2048)
        #expect(settings.maxFrameBytes == 1024)
        #expect(settings.maxPendingBytes == 4096)
        #expect(settings.slowConsumer == .drop)
        #expect(settings.handshakeTimeoutSeconds == 3)
        #expect(settings.pingIntervalSeconds == 0.5)
        #expect(settings.idleTimeoutSeconds == 120)
        #expect(settings.maxSubscriptionsPerConnection == 9)
        #expect(settings.maxConnections == 11)
        #expect(settings.maxLineBytes == 100)
        #expect(settings.allowClientPublish.map(\.string) == ["chat.>", "prices.*"])
        #expect(settings.shutdownGraceSeconds == 0.25)
        #expect(settings.logLevel == .warning)
        #expect(settings.logFormat == .json)
    }

    @Test func loadReturnsTheConfigPath() throws {
        let file = try ConfigFixture("history = 3")
        let loaded = try Settings.load(SettingsSource(arguments: ["--config=\(file.path)"]))
        #expect(loaded.configPath == file.path)
        #expect(loaded.settings.historyPerTopic == 3)
    }

    @Test(arguments: ["max-pending-bytes", "max_pending_bytes"])
    func keysMaySpellWithDashesOrUnderscores(key: String) throws {
        #expect(try ConfigFixture("\(key) = 12345").load().maxPendingBytes == 12345)
    }

    @Test func bothSpellingsOfOneKeyAreRefused() throws {
        let file = try ConfigFixture("max-pending-bytes = 1\nmax_pending_bytes = 2")
        let error = try #require(file.loadError())
        #expect(error.hasPrefix("\(file.path): '"))
        #expect(error.hasSuffix("' are the same setting"))
        #expect(error.contains("'max-pending-bytes'") && error.contains("'max_pending_bytes'"))
    }

    @Test func anEmptyFileChangesNothing() throws {
        #expect(try ConfigFixture("").load() == Settings())
    }

    @Test func anUnknownKeyIsNamedWithTheFile() throws {
        let file = try ConfigFixture("history = 5\nmax_pendin_bytes = 10")
        #expect(file.loadError() == "\(file.path): unknown key 'max_pendin_bytes' (did you mean 'max_pending_bytes'?)")
        let dashed = try ConfigFixture("max-pendin-bytes = 10")
        #expect(dashed.loadError() == "\(dashed.path): unknown key 'max-pendin-bytes' (did you mean 'max-pending-bytes'?)")
        let far = try ConfigFixture("colour = \"blue\"")
        #expect(far.loadError() == "\(far.path): unknown key 'colour'")
    }

    @Test func tablesAndTheNoFormAreNotKeys() throws {
        let table = try ConfigFixture("[server]\nlisten = \"0.0.0.0:1\"")
        #expect(table.loadError() == "\(table.path): unknown key 'server'")
        let negated = try ConfigFixture("no-compression = true")
        #expect(negated.loadError() == "\(negated.path): unknown key 'no-compression'")
    }

    @Test func configIsOnlyACommandLineOption() throws {
        let file = try ConfigFixture("config = \"other.toml\"")
        #expect(file.loadError() == "\(file.path): 'config' can only be given on the command line")
    }

    @Test(arguments: [
        ("history = \"5\"", "'history' takes a whole number, not a string"),
        ("history = 1.5", "'history' takes a whole number, not a floating-point number"),
        ("compression = \"yes\"", "'compression' takes true or false, not a string"),
        ("compression = 1", "'compression' takes true or false, not an integer"),
        ("listen = 8080", "'listen' takes HOST:PORT such as 127.0.0.1:8080 or [::1]:8080, not an integer"),
        ("listen = \"8080\"", "'listen' takes HOST:PORT such as 127.0.0.1:8080 or [::1]:8080, not '8080'"),
        ("socket = true", "'socket' takes a path, not a boolean"),
        ("slow_consumer = \"kick\"", "'slow_consumer' takes disconnect or drop, not 'kick'"),
        ("idle_timeout = \"5x\"", "'idle_timeout' takes a duration such as 30, 0.5, 250ms, 15m or 1h, not '5x'"),
        ("idle_timeout = [5]", "'idle_timeout' takes a duration such as 30, 0.5, 250ms, 15m or 1h, not an array"),
        ("allow_client_publish = \"chat.>\"", "'allow_client_publish' takes an array, not a string"),
        ("allow_client_publish = [1]", "'allow_client_publish' takes a topic pattern, not an integer"),
        ("log-level = \"loud\"", "'log-level' takes trace, debug, info, notice, warning, error or critical, not 'loud'"),
        ("history = -1", "'history' must be 0 or more, not -1"),
        ("max_line_bytes = 10", "'max_line_bytes' must be at least 64, not 10"),
        ("ping_interval = 0", "'ping_interval' must be positive, not 0s"),
    ])
    func aWrongValueNamesTheKeyAndTheFile(line: String, message: String) throws {
        let file = try ConfigFixture(line)
        #expect(file.loadError() == "\(file.path): \(message)")
    }

    @Test func aSyntaxErrorGivesTheFileLineAndColumn() throws {
        let file = try ConfigFixture("history = 5\nsocket = \"/run/unterminated\nthreads = 2\n")
        let error = try #require(file.loadError())
        #expect(error.hasPrefix("\(file.path):2:"))
        #expect(!error.contains("\n"))
        let other = try ConfigFixture("history = = 5")
        #expect(try #require(other.loadError()).hasPrefix("\(other.path):1:"))
    }

    @Test func flagsWinOverTheFile() throws {
        let file = try ConfigFixture("history = 5\nmax_connections = 50\ncompression = true")
        let settings = try file.load(["--history", "7", "--no-compression"])
        #expect(settings.historyPerTopic == 7)
        #expect(settings.compression == false)
        #expect(settings.maxConnections == 50)
        // The file is read first wherever --config stands among the flags.
        #expect(try load(["--history", "8", "--config", file.path]).historyPerTopic == 8)
    }

    @Test func aRepeatableFlagReplacesTheFilesArray() throws {
        let file = try ConfigFixture(#"allow_client_publish = ["chat.>", "prices.*"]"#)
        #expect(try file.load().allowClientPublish.map(\.string) == ["chat.>", "prices.*"])
        let settings = try file.load(["--allow-client-publish", "alerts.>", "--allow-client-publish", "news.*"])
        #expect(settings.allowClientPublish.map(\.string) == ["alerts.>", "news.*"])
    }

    @Test func reloadingReadsTheFileAgainAndFlagsStillWin() throws {
        let file = try ConfigFixture("log_level = \"info\"\nhistory = 5")
        let source = SettingsSource(arguments: ["--config", file.path, "--history", "9"])
        let first = try Settings.load(source).settings
        try file.write("log_level = \"debug\"\nhistory = 6\nmax_connections = 3")
        let second = try Settings.load(source).settings
        #expect(first.logLevel == .info)
        #expect(second.logLevel == .debug)
        #expect(second.historyPerTopic == 9)
        #expect(second.maxConnections == 3)
    }

    /// `serve` exits 1, not the 64 of a usage error, when the file is at fault.
    @Test func errorsInTheFileAreNotCommandLineErrors() throws {
        for text in ["history = lots", "bogus = 1", "history = -1", "tls_cert = \"cert.pem\""] {
            let file = try ConfigFixture(text)
            do {
                _ = try file.load()
                Issue.record("\(text) was accepted")
            } catch {
                #expect(error.origin == .configuration, "\(text)")
            }
        }
    }
}
