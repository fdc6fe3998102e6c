import HeraldCommandLine
import Testing

@Suite struct ParsingTests {
    @Test func optionsTakeTheNextArgumentOrWhatFollowsAnEqualsSign() throws {
        let values = try parse(["--socket", "/run/h.sock", "--count=7", "--mode", "careful", "t"])
        #expect(values.socket == "/run/h.sock")
        #expect(values.count == 7)
        #expect(values.mode == .careful)
        #expect(try parse(["--socket=/a=b.sock", "t"]).socket == "/a=b.sock")
        #expect(try parse(["--socket=", "t"]).socket == "")
    }

    @Test func defaultsStayWhenNotGiven() throws {
        let values = try parse(["t"])
        #expect(values.socket == nil)
        #expect(values.count == 3)
        #expect(values.delta == 0.5)
        #expect(values.mode == .fast)
        #expect(values.subscribe.isEmpty)
        #expect(values.json == false)
        #expect(values.message == nil)
    }

    @Test func flagsTakeNoValue() throws {
        #expect(try parse(["--json", "t"]).json)
        #expect(parseError(["--json=1", "t"]) == "--json takes no value")
    }

    @Test func optionsMayComeAnywhereAndTheLastOfASingleOneWins() throws {
        let values = try parse(["t", "--count", "1", "hello", "--json", "--count", "2"])
        #expect(values.topic == "t")
        #expect(values.message == "hello")
        #expect(values.count == 2)
        #expect(values.json)
        // Every value is read, so that a bad one is reported even when a later one wins.
        #expect(parseError(["--count", "x", "--count", "2", "t"]) == "--count takes a whole number, not 'x'")
    }

    @Test func aRepeatableOptionKeepsEveryValueInOrder() throws {
        #expect(try parse(["--subscribe", "a.*", "t", "--subscribe=b.>"]).subscribe == ["a.*", "b.>"])
    }

    @Test func negativeNumbersAreValuesAndArguments() throws {
        #expect(try parse(["--count", "-5", "t"]).count == -5)
        #expect(try parse(["--delta", "-0.25", "t"]).delta == -0.25)
        let values = try parse(["prices.delta", "-1.5"])
        #expect(values.message == "-1.5")
        #expect(try parse(["t", "-"]).message == "-")
    }

    @Test func doubleDashEndsTheOptions() throws {
        let values = try parse(["--", "--json", "-x"])
        #expect(values.topic == "--json")
        #expect(values.message == "-x")
        #expect(values.json == false)
        #expect(try Sample.declaration.parse(["--secret-file", "k", "--", "--help"], defaults: Sample()).isRun)
    }

    @Test func aMissingValueNamesTheOptionAndItsPlaceholder() {
        #expect(parseError(["t", "--socket"]) == "--socket needs a value: --socket PATH")
        #expect(parseError(["--count", "--json", "t"]) == "--count needs a value: --count N")
    }

    @Test func badValuesNameTheOptionAndWhatItTakes() {
        #expect(parseError(["--count", "1.5", "t"]) == "--count takes a whole number, not '1.5'")
        #expect(parseError(["--delta", "lots", "t"]) == "--delta takes a number, not 'lots'")
        #expect(parseError(["--mode", "slow", "t"]) == "--mode takes fast or careful, not 'slow'")
    }

    @Test func unknownOptionsAreNamedWithTheNearestOne() {
        #expect(parseError(["--sockt", "x", "t"]) == "unknown option '--sockt' (did you mean --socket?)")
        #expect(parseError(["--frobnicate=1", "t"]) == "unknown option '--frobnicate'")
        #expect(parseError(["-x", "t"]) == "unknown option '-x'")
    }

    @Test func missingAndSurplusArguments() {
        #expect(parseError([]) == "missing argument TOPIC")
        #expect(parseError(["t", "m", "extra"]) == "unexpected argument 'extra'")
        #expect(throws: UsageError("missing option --secret-file FILE")) { try Sample.declaration.parse(["t"], defaults: Sample()) }
        #expect(throws: UsageError("missing argument PATTERN")) { try Many.declaration.parse([], defaults: Many()) }
    }

    @Test func theLastArgumentMayTakeSeveral() throws {
        guard case .run(let values) = try Many.declaration.parse(["a", "-1", "b"], defaults: Many()) else { throw UsageError("not a run") }
        #expect(values.patterns == ["a", "-1", "b"])
    }

    @Test func helpAndVersionWinOverTheRest() throws {
        #expect(try Sample.declaration.parse(["--bogus", "--help"], defaults: Sample()).isHelp)
        #expect(try Sample.declaration.parse(["-h"], defaults: Sample()).isHelp)
        #expect(try Sample.declaration.parse(["--version"], defaults: Sample()).isVersion)
        #expect(try Whole.declaration.parse(["--listen", "x", "--help"], defaults: Whole()).isHelp)
    }

    @Test func aHandedOnCommandGetsEveryArgumentUnread() throws {
        let arguments = ["--listen", "127.0.0.1:0", "--no-compression", "--history=-1", "stray"]
        guard case .run(let values) = try Whole.declaration.parse(arguments, defaults: Whole()) else { throw UsageError("not a run") }
        #expect(values.options == arguments)
    }
}

extension Invocation {
    var isRun: Bool { if case .run = self { true } else { false } }
    var isHelp: Bool { if case .help = self { true } else { false } }
    var isVersion: Bool { if case .version = self { true } else { false } }
}
