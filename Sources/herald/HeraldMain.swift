import ArgumentParser
import HeraldClient

#if canImport(Glibc)
import Glibc
#endif

@main
enum HeraldMain {
    /// Like ArgumentParser's own `main`, except that a usage error is one line on standard
    /// error (CONTRACT §1), not the error followed by the whole usage text.
    static func main() async {
        do {
            var command = try Herald.parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = Herald.exitCode(for: error)
            // --help and --version arrive as "errors" that exit 0; print them in full.
            if code == .success { Herald.exit(withError: error) }
            let message = Herald.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            var line = "herald: " + message + "\n"
            line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
            exit(code.rawValue == 0 ? 1 : code.rawValue)
        }
    }
}
