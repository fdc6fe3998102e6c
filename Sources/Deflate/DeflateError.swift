/// Why a message could not be compressed or inflated.
public enum DeflateError: Error, Equatable, Sendable {
    /// The inflated message would exceed the size limit; inflating stopped at the limit.
    case messageTooLarge(limit: Int)
    /// The data is not a valid deflate stream.
    case corruptData
    /// zlib refused to set up or failed unexpectedly (out of memory, bad parameters).
    case zlib(code: Int32, operation: String)
}
