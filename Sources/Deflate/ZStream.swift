import CZlib

/// One zlib stream on the heap (zlib keeps pointers into its `z_stream`, so it must never
/// move), ended and freed with the instance.
final class ZStream {
    let pointer: UnsafeMutablePointer<z_stream>
    private let end: (UnsafeMutablePointer<z_stream>) -> Int32

    /// `start` is `deflateInit2` or `inflateInit2` for this stream, named `operation` in errors.
    init(
        operation: String,
        start: (UnsafeMutablePointer<z_stream>) -> Int32,
        end: @escaping (UnsafeMutablePointer<z_stream>) -> Int32
    ) throws {
        pointer = .allocate(capacity: 1)
        pointer.initialize(to: z_stream())
        self.end = end
        let code = start(pointer)
        guard code == Z_OK else {
            pointer.deinitialize(count: 1)
            pointer.deallocate()
            throw DeflateError.zlib(code: code, operation: operation)
        }
    }

    deinit {
        _ = end(pointer)
        pointer.deinitialize(count: 1)
        pointer.deallocate()
    }
}
