/// The program: its subcommands, and the one place a command line becomes a run of one of
/// them or a help text, and any error a `Termination` with its exit status.
public struct Program: Sendable {
    public let name: String
    public let version: String
    public let abstract: String
    let commands: [any Command.Type]

    public init(name: String, version: String, abstract: String, commands: [any Command.Type]) {
        self.name = name
        self.version = version
        self.abstract = abstract
        self.commands = commands
    }

    /// Runs the subcommand `arguments` name (the program's own name left out).
    public func run(_ arguments: [String]) async -> Termination {
        guard let first = arguments.first, first != "--help", first != "-h" else { return .output(help) }
        if first == "--version" { return .output(version) }
        // `herald help publish`, which swift-argument-parser offered too.
        if first == "help" {
            guard arguments.count > 1 else { return .output(help) }
            return command(named: arguments[1]).map { .output(help(of: $0)) } ?? unknownCommand(arguments[1])
        }
        guard let command = command(named: first) else { return unknownCommand(first) }
        return await run(command, Array(arguments.dropFirst()))
    }

    private func run<C: Command>(_ command: C.Type, _ arguments: [String]) async -> Termination {
        do {
            switch try C.declaration.parse(arguments, defaults: C()) {
            case .help: return .output(help(of: command))
            case .version: return .output(version)
            case .run(let values): try await values.run()
            }
        } catch let error as UsageError {
            return usageFailure(error, helpCommand: "\(name) \(C.declaration.name) --help")
        } catch {
            return .failure(line(for: error), status: Termination.failureStatus)
        }
        return .success
    }

    private func command(named name: String) -> (any Command.Type)? {
        commands.first { commandName($0) == name }
    }

    private func commandName<C: Command>(_ command: C.Type) -> String {
        C.declaration.name
    }

    private func help<C: Command>(of command: C.Type) -> String {
        C.declaration.help(program: name, defaults: C())
    }

    private func unknownCommand(_ text: String) -> Termination {
        guard !text.hasPrefix("-") else { return usageFailure(UsageError("unknown option '\(text)'"), helpCommand: "\(name) --help") }
        let hint = NearestName.among(commands.map { commandName($0) }, to: text).map { " (did you mean \($0)?)" } ?? ""
        return usageFailure(UsageError("unknown subcommand '\(text)'\(hint)"), helpCommand: "\(name) --help")
    }

    /// One line ending in where to look, never the whole usage text: the user knows what
    /// they typed, and a script's log stays readable.
    private func usageFailure(_ error: UsageError, helpCommand: String) -> Termination {
        .failure(line(for: error) + " (see '\(helpCommand)')", status: UsageError.exitStatus)
    }

    /// `herald: message`, on one line whatever the error's text holds.
    private func line(for error: any Error) -> String {
        "\(name): " + "\(error)".split(whereSeparator: \.isNewline).joined(separator: " ")
    }

    /// `herald --help`: the subcommands with their abstracts.
    public var help: String {
        [
            "USAGE: \(name) SUBCOMMAND",
            TextWrapping.paragraph(abstract),
            "SUBCOMMANDS:\n" + HelpTable(commands.map { (commandName($0), abstract(of: $0)) }).text,
            "OPTIONS:\n" + HelpTable(HelpTable.builtInRows).text,
            "See '\(name) SUBCOMMAND --help' for a subcommand's arguments and options.",
        ].joined(separator: "\n\n")
    }

    private func abstract<C: Command>(of command: C.Type) -> String {
        C.declaration.abstract
    }
}
