import HeraldCommandLine
import Testing

/// Exit statuses and messages, as `herald` ends with them.
@Suite struct ProgramTests {
    @Test func aCommandThatRunsEndsWithSuccess() async {
        #expect(await program.run(["sample", "--secret-file", "k", "t"]) == .success)
        #expect(await program.run(["whole", "--anything", "goes"]) == .success)
    }

    @Test(arguments: [
        (["nonsense"], "herald: unknown subcommand 'nonsense' (see 'herald --help')"),
        (["sampel"], "herald: unknown subcommand 'sampel' (did you mean sample?) (see 'herald --help')"),
        (["--bogus"], "herald: unknown option '--bogus' (see 'herald --help')"),
        (["help", "nonsense"], "herald: unknown subcommand 'nonsense' (see 'herald --help')"),
        (["sample", "t"], "herald: missing option --secret-file FILE (see 'herald sample --help')"),
        (["sample", "--secret-file", "k"], "herald: missing argument TOPIC (see 'herald sample --help')"),
        (["sample", "--secret-file"], "herald: --secret-file needs a value: --secret-file FILE (see 'herald sample --help')"),
        (["sample", "--secret-file", "k", "--bogus", "t"], "herald: unknown option '--bogus' (see 'herald sample --help')"),
        (["sample", "--secret-file", "k", "--count", "many", "t"], "herald: --count takes a whole number, not 'many' (see 'herald sample --help')"),
        (["many"], "herald: missing argument PATTERN (see 'herald many --help')"),
    ])
    func usageErrorsAreOneLineWithAHintAndExit64(arguments: [String], line: String) async {
        #expect(await program.run(arguments) == .failure(line, status: 64))
    }

    @Test func aUsageErrorFoundWhileRunningIsStillOne() async {
        #expect(await program.run(["whole", "--bogus"]) == .failure("herald: unknown option '--bogus' (see 'herald whole --help')", status: 64))
        #expect(
            await program.run(["sample", "--secret-file", "k", "misused"])
                == .failure("herald: --count must be positive (see 'herald sample --help')", status: 64))
    }

    @Test func aFailureToDoTheWorkExits1OnOneLine() async {
        let termination = await program.run(["sample", "--secret-file", "k", "fail"])
        #expect(termination == .failure("herald: cannot reach the broker at ./herald.sock", status: 1))
        #expect(termination.status == 1)
    }

    @Test func helpAndVersionGoToStandardOutputAndExit0() async {
        #expect(await program.run(["--version"]) == .output("9.9.9"))
        #expect(await program.run(["sample", "--version"]) == .output("9.9.9"))
        #expect(await program.run([]) == .output(program.help))
        #expect(await program.run(["-h"]) == .output(program.help))
        #expect(await program.run(["help"]) == .output(program.help))
        let sampleHelp = Sample.declaration.help(program: "herald", defaults: Sample())
        #expect(await program.run(["sample", "--help"]) == .output(sampleHelp))
        #expect(await program.run(["sample", "--nonsense", "-h"]) == .output(sampleHelp))
        #expect(await program.run(["help", "sample"]) == .output(sampleHelp))
        #expect(await program.run(["help", "sample"]).status == 0)
    }
}
