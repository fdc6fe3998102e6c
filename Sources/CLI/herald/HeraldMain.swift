import HeraldClient

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

@main
enum HeraldMain {
    static func main() async {
        let termination = await Herald.program.run(Array(CommandLine.arguments.dropFirst()))
        switch termination {
        case .success:
            break
        case .output(let text):
            printFlushed(text)
        case .failure(let line, _):
            var text = line + "\n"
            text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
        }
        exit(termination.status)
    }
}
