import HeraldCore
import HeraldWire

extension HTTPAnswer {
    /// PROTOCOL.md §9: `{"seq":N,"deliveries":M}`, or the refusal with its status (507 for
    /// `retained_full`, 503 for `shutting_down` and `unavailable`).
    static func published(_ outcome: Result<BrokerCore.PublishResult, BrokerCore.PublishRefusal>) -> HTTPAnswer {
        switch outcome {
        case .success(let result):
            .json(.ok, "{\"seq\":\(result.seq),\"deliveries\":\(result.deliveries)}")
        case .failure(let refusal):
            .error(refusal == .retainedFull ? .insufficientStorage : .serviceUnavailable, refusal.code, refusal.message)
        }
    }
}
