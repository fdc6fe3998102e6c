import HeraldSettings
import JSON
import Logging
import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// herald's logs (PROTOCOL.md §10): one line per event on standard error, as text for people
/// or as one JSON object per line for collectors. Each line goes out in one `write`, so
/// lines from several threads never interleave.
struct StandardErrorLogHandler: LogHandler {
    let label: String
    let format: LogFormat
    let levelSwitch: LogLevelSwitch
    var metadata: Logger.Metadata = [:]

    var logLevel: Logger.Level {
        get { levelSwitch.level }
        set { levelSwitch.level = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var fields = metadata
        if let extra = event.metadata { fields.merge(extra) { $1 } }
        let time = Self.timestamp()
        var line: String
        switch format {
        case .text:
            line = "\(time) \(event.level) \(event.message)"
            for (key, value) in fields.sorted(by: { $0.key < $1.key }) { line += " \(key)=\(value)" }
        case .json:
            var buffer = ByteBuffer()
            buffer.writeStaticString("{\"time\":")
            JSONWriter.writeString(time, into: &buffer)
            buffer.writeStaticString(",\"level\":")
            JSONWriter.writeString("\(event.level)", into: &buffer)
            buffer.writeStaticString(",\"message\":")
            JSONWriter.writeString("\(event.message)", into: &buffer)
            for (key, value) in fields.sorted(by: { $0.key < $1.key }) {
                buffer.writeStaticString(",")
                JSONWriter.writeString(key, into: &buffer)
                buffer.writeStaticString(":")
                JSONWriter.writeString("\(value)", into: &buffer)
            }
            buffer.writeStaticString("}")
            line = String(buffer: buffer)
        }
        line += "\n"
        line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    }

    /// UTC, ISO 8601 with milliseconds.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(now.tv_nsec / 1_000_000), 3))Z"
    }
}
