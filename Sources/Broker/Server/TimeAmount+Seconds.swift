import NIOCore

extension TimeAmount {
    /// Settings hold seconds as `Double`; NIO counts nanoseconds.
    static func seconds(_ value: Double) -> TimeAmount { .nanoseconds(Int64(value * 1e9)) }
}
