import HeraldCommandLine

/// A command of every shape the parser handles, recording what it was run with.
struct Sample: Command {
    enum Mode: String, CaseIterable, ArgumentValue { case fast, careful }

    static let declaration = CommandDeclaration<Self>(
        name: "sample",
        abstract: "Exercise the parser.",
        options: [
            .option("socket", \.socket, placeholder: "PATH", help: "Where the broker listens."),
            .option("count", \.count, help: "How many."),
            .option("delta", \.delta, help: "A change, negative or not."),
            .option("mode", \.mode, help: "How to go about it."),
            .option("secret-file", \.secretFile, placeholder: "FILE", required: true, help: "The key file."),
            .repeatable("subscribe", \.subscribe, placeholder: "PATTERN", help: "A pattern; repeatable."),
            .flag("json", \.json, help: "Print JSON."),
        ],
        arguments: [
            .argument("TOPIC", \.topic, help: "The topic."),
            .argument("MESSAGE", \.message, help: "The message; without it, standard input."),
        ]
    )

    var socket: String?
    var count = 3
    var delta = 0.5
    var mode = Mode.fast
    var secretFile = ""
    var subscribe: [String] = []
    var json = false
    var topic = ""
    var message: String?

    func run() async throws {
        if topic == "fail" { throw Failure() }
        if topic == "misused" { throw UsageError("--count must be positive") }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String { "cannot reach the broker\nat ./herald.sock" }
    }
}

/// One or more positional arguments.
struct Many: Command {
    static let declaration = CommandDeclaration<Self>(
        name: "many", abstract: "Take patterns.",
        arguments: [.arguments("PATTERN", \.patterns, help: "Patterns.")]
    )
    var patterns: [String] = []
    func run() async throws {}
}

/// Arguments handed on unread, as `serve` hands its own to HeraldSettings.
struct Whole: Command {
    static let declaration = CommandDeclaration<Self>(
        name: "whole", abstract: "Hand everything on.", usage: "[--listen HOST:PORT] [options]",
        handingArgumentsTo: \.options, optionsHelp: HelpTable([("--listen HOST:PORT", "Where to listen.")]).text
    )
    var options: [String] = []
    func run() async throws {
        if options.contains("--bogus") { throw UsageError("unknown option '--bogus'") }
    }
}

let program = Program(name: "herald", version: "9.9.9", abstract: "A test program.", commands: [Sample.self, Many.self, Whole.self])

/// The values `Sample` would run with, or the usage error its arguments make.
func parse(_ arguments: [String]) throws(UsageError) -> Sample {
    guard case .run(let values) = try Sample.declaration.parse(["--secret-file", "k"] + arguments, defaults: Sample()) else {
        throw UsageError("not a run")
    }
    return values
}

func parseError(_ arguments: [String]) -> String? {
    do {
        _ = try parse(arguments)
        return nil
    } catch {
        return error.description
    }
}
