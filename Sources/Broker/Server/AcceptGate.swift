import Atomics
import NIOCore

/// Stops accepting while the process is near its file limit, instead of letting `accept`
/// fail with EMFILE: NIO's `AcceptBackoffHandler` cannot help there, because a server
/// channel whose accept failed keeps its read pending and the loop spins on a socket that
/// stays readable. Likewise while `--max-handshakes` connections are in their handshake
/// (PROTOCOL.md §6): a silent client beyond them would otherwise hold a descriptor until its
/// handshake timed out. Held back this way, connections wait in the listen backlog, the
/// loop rechecks ten times a second, and publishers keep the descriptors they need.
final class AcceptGate: ChannelOutboundHandler {
    typealias OutboundIn = Never

    private let openSockets: ManagedAtomic<Int>
    private let limit: Int
    private let handshakes: ManagedAtomic<Int>
    private let handshakeLimit: Int
    private var recheck: Scheduled<Void>?

    init(openSockets: ManagedAtomic<Int>, limit: Int, handshakes: ManagedAtomic<Int>, handshakeLimit: Int) {
        self.openSockets = openSockets
        self.limit = limit
        self.handshakes = handshakes
        self.handshakeLimit = handshakeLimit
    }

    func read(context: ChannelHandlerContext) {
        guard openSockets.load(ordering: .relaxed) >= limit || handshakes.load(ordering: .relaxed) >= handshakeLimit else {
            context.read()
            return
        }
        guard recheck == nil else { return }
        recheck = context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(100)) { [self] in
            recheck = nil
            read(context: context)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        recheck?.cancel()
        recheck = nil
    }
}
