import HeraldWire
import NIOCore

/// Time: pings, the idle timeout and the token's expiry, read by the loop's sweep.
extension ConnectionStateMachine {
    /// An idle connection is closed, a quiet one pinged. `idleTimeout` nil: no idle
    /// timeout (the client of an event stream never sends). `pingInBand`: the ping travels
    /// in the data stream (an event stream's comment), so a lagging connection skips it
    /// rather than let it overtake the backlog.
    package mutating func sweep(now: NIODeadline, idleTimeout: TimeAmount?, pingInterval: TimeAmount, pingInBand: Bool = false) -> Action {
        guard case .open(var open, let flow) = state else { return .none }
        if let expiry = open.liveness.tokenExpiry, now >= expiry {
            beginClosing()
            return .tokenExpired
        }
        if let idleTimeout, now - open.liveness.lastInbound >= idleTimeout {
            return closeRequested(code: CloseCode.goingAway, reason: "idle timeout")
        }
        guard now - open.liveness.lastPing >= pingInterval else { return .none }
        state = .modifying
        open.liveness.lastPing = now
        state = .open(open, flow)
        if pingInBand, case .lagging = flow { return .none }
        return .ping
    }

    /// A new token (JSON mode's `auth` op) brings its own expiry.
    package mutating func tokenRenewed(expiry: NIODeadline?) -> Action {
        guard case .open(var open, let flow) = state else { return .none }
        state = .modifying
        open.liveness.tokenExpiry = expiry
        state = .open(open, flow)
        return .none
    }
}
