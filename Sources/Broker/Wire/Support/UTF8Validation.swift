import NIOCore

/// Strict UTF-8 validation of a whole payload, used to choose text or binary frames and to
/// reject invalid text with 1007: the streaming validator, fed once and required to end on
/// a code point boundary.
package enum UTF8Validation {
    package static func isValid(_ buffer: ByteBuffer) -> Bool {
        buffer.withUnsafeReadableBytes { isValid($0) }
    }

    package static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var validator = UTF8StreamValidator()
        return validator.feed(bytes) && validator.isComplete
    }
}
