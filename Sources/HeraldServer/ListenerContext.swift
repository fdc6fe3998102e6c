import HeraldSettings
import Atomics
import Deflate
import HeraldCore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL

/// Shared by every connection of the WebSocket listener: the connection count that enforces
/// `--max-connections`, and what the handshake needs to hand a connection to the core.
final class ListenerContext: Sendable {
    let core: BrokerCore
    let logger: Logger
    let negotiator: DeflateNegotiator?
    let openConnections = ManagedAtomic<Int>(0)
    let allServices: [LoopServices]
    private let loopServices: [ObjectIdentifier: LoopServices]

    /// Settings that only a restart changes, read without a hop to the core loop.
    let settings: Settings
    /// The TLS context for new connections; SIGHUP swaps it, open connections keep theirs.
    let tls: NIOLockedValueBox<NIOSSLContext?>

    init(core: BrokerCore, services: [LoopServices], settings: Settings, tls: NIOSSLContext?, logger: Logger) {
        self.core = core
        self.tls = NIOLockedValueBox(tls)
        self.logger = logger
        self.settings = settings
        self.negotiator = settings.compression ? DeflateNegotiator(serverMaxWindowBits: settings.deflateWindowBits) : nil
        self.allServices = services
        self.loopServices = Dictionary(uniqueKeysWithValues: services.map { (ObjectIdentifier($0.outbox.loop), $0) })
    }

    func services(for loop: any EventLoop) -> LoopServices {
        loopServices[ObjectIdentifier(loop)]!
    }
}
