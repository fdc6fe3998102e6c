/// Why a document was refused, and where: the first problem found, with a short message.
public struct TOMLError: Error, Equatable, Sendable, CustomStringConvertible {
    public let position: TOMLPosition
    public let message: String

    public init(position: TOMLPosition, message: String) {
        self.position = position
        self.message = message
    }

    /// "LINE:COLUMN: message", the shape compilers use, so editors can jump to it.
    public var description: String { "\(position): \(message)" }
}
