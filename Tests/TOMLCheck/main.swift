// Reads a TOML document on stdin and prints it as toml-test tagged JSON, or prints
// "LINE:COLUMN: message" on stderr and exits 1.
import Glibc  // raw stdin: readLine would repair invalid UTF-8 that the parser must refuse
import TOML

func readStandardInput() -> [UInt8]? {
    var data: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
        if count > 0 {
            data += chunk[..<count]
        } else if count == 0 {
            return data
        } else if errno != EINTR {
            return nil
        }
    }
}

/// stderr via the file descriptor: Swift 6 refuses the C `stderr` global as shared mutable state.
func printError(_ message: String) {
    var line = message + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

guard let input = readStandardInput() else {
    printError("cannot read standard input")
    exit(2)
}
do {
    print(TaggedJSON.encode(try TOMLDocument.parse(input)))
} catch {
    printError("\(error)")
    exit(1)
}
