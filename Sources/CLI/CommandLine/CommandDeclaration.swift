/// A subcommand's command line: name, abstract, options and positional arguments. The
/// parser, the usage line and the help are all derived from it.
public struct CommandDeclaration<Values>: Sendable {
    enum Grammar: Sendable {
        case declared(options: [OptionDeclaration<Values>], arguments: [ArgumentDeclaration<Values>])
        /// Every argument goes whole into one field, for a command whose options another
        /// module declares (`serve`'s, in HeraldSettings, for the config file too).
        case handedOn(any WritableKeyPath<Values, [String]> & Sendable, usage: String, optionsHelp: String)
    }

    /// The subcommand's name: `publish`.
    public let name: String
    /// One line for the program's list of subcommands and the top of the help.
    public let abstract: String
    /// More help, between the abstract and the tables.
    let discussion: String?
    let grammar: Grammar

    public init(
        name: String, abstract: String, discussion: String? = nil,
        options: [OptionDeclaration<Values>] = [], arguments: [ArgumentDeclaration<Values>] = []
    ) {
        precondition(!arguments.dropLast().contains { $0.arity != .one }, "only the last argument may be optional or repeated")
        self.name = name
        self.abstract = abstract
        self.discussion = discussion
        self.grammar = .declared(options: options, arguments: arguments)
    }

    /// A command whose arguments, all of them, go to `field` unread; `usage` follows the
    /// command's name on the usage line and `optionsHelp` is its table of options.
    public init(
        name: String, abstract: String, discussion: String? = nil,
        usage: String, handingArgumentsTo field: any WritableKeyPath<Values, [String]> & Sendable, optionsHelp: String
    ) {
        self.name = name
        self.abstract = abstract
        self.discussion = discussion
        self.grammar = .handedOn(field, usage: usage, optionsHelp: optionsHelp)
    }
}
