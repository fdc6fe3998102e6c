import NIOCore
import Topics

/// The line protocol of PROTOCOL.md §5 as a pure parser: bytes in, commands out. It buffers at
/// most one line (`maxLineBytes`) or one accepted payload (`maxPayloadBytes`); a refused
/// payload is skipped as it streams past, never held.
package struct PublisherCommandParser {
    package enum Command: Equatable {
        /// `binary`: the publisher marked the payload binary (`BINARY`), kept end to end.
        case publish(topic: TopicName, payload: ByteBuffer, retain: Bool, binary: Bool)
        case ping
        case stats
        /// `-ERR code message`; when `fatal`, framing is lost and the connection must close.
        case refuse(code: String, message: String, fatal: Bool)
    }

    private enum State {
        case line
        case payload(topic: TopicName, length: Int, retain: Bool, binary: Bool)
        /// Skipping a refused payload and its line ending.
        case skipping(remaining: Int)
    }

    package let maxLineBytes: Int
    package let maxPayloadBytes: Int
    private var state = State.line
    private var failed = false

    /// Between commands: nothing of a command has been read but not acted on. Given what
    /// is still buffered, so that a half-sent command counts as started.
    package func isBetweenCommands(buffered: Int) -> Bool {
        guard case .line = state else { return false }
        return buffered == 0
    }

    package init(maxLineBytes: Int, maxPayloadBytes: Int) {
        self.maxLineBytes = maxLineBytes
        self.maxPayloadBytes = maxPayloadBytes
    }

    /// The next command from `buffer`, consuming its bytes; nil when more bytes are needed.
    package mutating func next(from buffer: inout ByteBuffer) -> Command? {
        while !failed {
            switch state {
            case .skipping(let remaining):
                let skipped = min(remaining, buffer.readableBytes)
                buffer.moveReaderIndex(forwardBy: skipped)
                guard skipped == remaining else {
                    state = .skipping(remaining: remaining - skipped)
                    return nil
                }
                state = .line
                // The refused payload's own line ending is consumed as an empty line below.
                guard let ending = lineEndingLength(buffer) else { return nil }
                if ending == 0 { return fail("payload not followed by CRLF") }
                buffer.moveReaderIndex(forwardBy: ending)
            case .payload(let topic, let length, let retain, let binary):
                guard buffer.readableBytes >= length + 1 else { return nil }
                let endingStart = buffer.readerIndex + length
                let first = buffer.getInteger(at: endingStart, as: UInt8.self)!
                var ending = 0
                if first == UInt8(ascii: "\n") {
                    ending = 1
                } else if first == UInt8(ascii: "\r") {
                    guard buffer.readableBytes >= length + 2 else { return nil }
                    guard buffer.getInteger(at: endingStart + 1, as: UInt8.self) == UInt8(ascii: "\n") else {
                        return fail("payload not followed by CRLF")
                    }
                    ending = 2
                } else {
                    return fail("payload longer than its declared \(length) bytes")
                }
                // A copy, so that history holds the payload and not the whole read buffer.
                let payload = ByteBuffer(buffer: buffer.readSlice(length: length)!)
                buffer.moveReaderIndex(forwardBy: ending)
                state = .line
                return .publish(topic: topic, payload: payload, retain: retain, binary: binary)
            case .line:
                let view = buffer.readableBytesView
                guard let newline = view.firstIndex(of: UInt8(ascii: "\n")) else {
                    if buffer.readableBytes > maxLineBytes { return fail("line longer than \(maxLineBytes) bytes") }
                    return nil
                }
                let lineLength = newline - view.startIndex
                guard lineLength <= maxLineBytes else { return fail("line longer than \(maxLineBytes) bytes") }
                var line = buffer.readSlice(length: lineLength)!
                buffer.moveReaderIndex(forwardBy: 1)
                if line.readableBytes > 0, line.getInteger(at: line.writerIndex - 1, as: UInt8.self) == UInt8(ascii: "\r") {
                    line.moveWriterIndex(to: line.writerIndex - 1)
                }
                if line.readableBytes == 0 { continue }  // blank lines are harmless; skip them
                if let command = command(String(buffer: line)) { return command }
            }
        }
        return nil
    }

    /// The command a line stands for, or nil when a payload must be read first.
    private mutating func command(_ line: String) -> Command? {
        let words = line.split(separator: " ", omittingEmptySubsequences: true)
        switch words.first?.uppercased() {
        case "PING" where words.count == 1:
            return .ping
        case "STATS" where words.count == 1:
            return .stats
        case "PUB":
            let flags = words.dropFirst(3).map { $0.uppercased() }
            guard words.count >= 3, flags.count <= 2, Set(flags).count == flags.count,
                flags.allSatisfy({ $0 == "RETAIN" || $0 == "BINARY" })
            else {
                return fail("usage: PUB <topic> <nbytes> [RETAIN] [BINARY]")
            }
            guard words[2].utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }), words[2].utf8.count <= 18,
                let length = Int(words[2])
            else {
                return fail("'\(words[2].prefix(32))' is not a byte count")
            }
            guard length <= maxPayloadBytes else {
                state = .skipping(remaining: length)
                return .refuse(code: "too_large", message: "payload of \(length) bytes exceeds the limit of \(maxPayloadBytes)", fatal: false)
            }
            do {
                let topic = try TopicName(String(words[1]))
                state = .payload(topic: topic, length: length, retain: flags.contains("RETAIN"), binary: flags.contains("BINARY"))
                return nil  // the payload follows
            } catch {
                state = .skipping(remaining: length)
                return .refuse(code: "invalid_topic", message: error.description, fatal: false)
            }
        default:
            return fail("unknown command '\(String(line.prefix(32)))'")
        }
    }

    private mutating func fail(_ message: String) -> Command {
        failed = true
        return .refuse(code: "bad_request", message: message, fatal: true)
    }

    /// 0 when the next byte is not a line ending, nil when more bytes are needed.
    private func lineEndingLength(_ buffer: ByteBuffer) -> Int? {
        guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return nil }
        if first == UInt8(ascii: "\n") { return 1 }
        guard first == UInt8(ascii: "\r") else { return 0 }
        guard let second = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt8.self) else { return nil }
        return second == UInt8(ascii: "\n") ? 2 : 0
    }
}
