@testable import HeraldCommandLine
import Testing

@Suite struct HelpTests {
    let help = Sample.declaration.help(program: "herald", defaults: Sample())

    @Test func theHelpIsUsageAbstractArgumentsAndOptions() {
        let sections = help.split(separator: "\n\n").map(String.init)
        #expect(sections.count == 4)
        // Wrapped at 80 columns between options, never inside one, under the first.
        #expect(
            sections[0] == """
                USAGE: herald sample [--socket PATH] [--count N] [--delta NUMBER]
                                     [--mode fast|careful] --secret-file FILE
                                     [--subscribe PATTERN]... [--json] TOPIC [MESSAGE]
                """)
        #expect(sections[1] == "Exercise the parser.")
        #expect(
            sections[2] == """
                ARGUMENTS:
                  TOPIC                         The topic.
                  MESSAGE                       The message; without it, standard input.
                """)
        #expect(sections[3].hasPrefix("OPTIONS:\n  --socket PATH                 Where the broker listens.\n"))
    }

    @Test func optionsShowTheirDefaultsButNotARequiredOnes() {
        #expect(help.contains("  --count N                     How many. Default: 3.\n"))
        #expect(help.contains("  --delta NUMBER                A change, negative or not. Default: 0.5.\n"))
        #expect(help.contains("  --mode fast|careful           How to go about it. Default: fast.\n"))
        #expect(help.contains("  --secret-file FILE            The key file.\n"))
        #expect(help.hasSuffix("  --version                     Show the version.\n  -h, --help                    Show help information."))
    }

    @Test func aCommandWithoutOptionsListsOnlyTheBuiltInOnes() {
        let help = Many.declaration.help(program: "herald", defaults: Many())
        #expect(
            help == """
                USAGE: herald many PATTERN...

                Take patterns.

                ARGUMENTS:
                  PATTERN                       Patterns.

                OPTIONS:
                  --version                     Show the version.
                  -h, --help                    Show help information.
                """)
    }

    @Test func longHelpWrapsUnderItsColumn() {
        let table = HelpTable([("--short", String(repeating: "word ", count: 30))]).text
        let lines = table.split(separator: "\n")
        #expect(lines.count > 1)
        #expect(lines.allSatisfy { $0.count <= 80 })
        #expect(lines.dropFirst().allSatisfy { $0.hasPrefix(String(repeating: " ", count: 32) + "word") })
    }

    @Test func aLongUsageHasItsHelpOnTheNextLine() {
        let table = HelpTable([("--window-counts deliveries|publishes", "What the window counts.")]).text
        #expect(table == "  --window-counts deliveries|publishes\n" + String(repeating: " ", count: 32) + "What the window counts.")
    }

    @Test func aHandedOnCommandShowsTheTableItWasGiven() {
        let help = Whole.declaration.help(program: "herald", defaults: Whole())
        // The built-in options first: the table handed on may go on with sections of its own.
        #expect(help.hasPrefix("USAGE: herald whole [--listen HOST:PORT] [options]\n\nHand everything on.\n\nOPTIONS:\n  --version "))
        #expect(help.contains("-h, --help                    Show help information.\n  --listen HOST:PORT  "))
    }

    @Test func theProgramListsItsSubcommands() {
        #expect(program.help.contains("SUBCOMMANDS:\n  sample                        Exercise the parser.\n  many "))
        #expect(program.help.hasPrefix("USAGE: herald SUBCOMMAND\n\nA test program.\n\n"))
    }

    @Test func nearestNamesAreWithinTwoEdits() {
        #expect(NearestName.among(["socket", "subscribe"], to: "sockt") == "socket")
        #expect(NearestName.among(["socket"], to: "frobnicate") == nil)
    }
}
