/// What a subcommand's arguments ask for.
public enum Invocation<Values> {
    case run(Values)
    case help
    case version
}
