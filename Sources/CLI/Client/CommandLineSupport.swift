/// What every subcommand shares: where the broker is, and how errors and output leave.
import HeraldSettings

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `HERALD_SOCKET` overrides the default socket path for every subcommand (PROTOCOL.md §1).
package enum DefaultSocket {
    package static var path: String { Settings(environment: ProcessEnvironment.variables).socketPath }
}

/// The process environment, read from `environ` rather than through Foundation, which the
/// broker does not otherwise need.
package enum ProcessEnvironment {
    package static var variables: [String: String] {
        var result: [String: String] = [:]
        var entry = environ
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            entry += 1
        }
        return result
    }
}

/// Failures of every subcommand to do its work: one line on standard error, exit status 1.
/// (A command line herald cannot act on is a `UsageError` instead, exit status 64.)
package struct CommandFailure: Error, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }
}

package func fail(_ message: String) -> Never {
    var line = "herald: " + message + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    exit(1)
}

package func printFlushed(_ line: String) {
    var text = line + "\n"
    text.withUTF8 { bytes in
        var offset = 0
        while offset < bytes.count {
            let written = write(1, bytes.baseAddress! + offset, bytes.count - offset)
            if written <= 0 { exit(0) }  // nobody reads our output any more
            offset += written
        }
    }
}
