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
    let metrics: MetricsEndpoint
    let logger: Logger
    let negotiator: DeflateNegotiator?
    /// Connections in their HTTP handshake (`--max-handshakes`); WebSocket connections are
    /// counted by each loop (`LoopCounters.connections`) against `--max-connections`.
    let handshakes = ManagedAtomic<Int>(0)
    /// Every accepted socket of the listener, open until closed; `AcceptGate` keeps it
    /// below `socketLimit`, the file limit less what publishers and the broker need.
    let openSockets = ManagedAtomic<Int>(0)
    let socketLimit: Int
    /// `--max-connections`, lowered when the process may open too few files for it: past
    /// it a handshake gets 503, and publishers and the broker keep the descriptors they need.
    let connectionLimit: Int
    let allServices: [LoopServices]
    private let loopServices: [ObjectIdentifier: LoopServices]

    /// Settings that only a restart changes, read without a hop to the core loop.
    let settings: Settings
    /// The TLS context for new connections; SIGHUP swaps it, open connections keep theirs.
    let tls: NIOLockedValueBox<NIOSSLContext?>

    init(core: BrokerCore, services: [LoopServices], settings: Settings, tls: NIOSSLContext?, logger: Logger) {
        self.core = core
        self.metrics = MetricsEndpoint(core: core)
        self.tls = NIOLockedValueBox(tls)
        self.logger = logger
        self.settings = settings
        self.negotiator = settings.compression ? DeflateNegotiator(serverMaxWindowBits: settings.deflateWindowBits) : nil
        self.allServices = services
        let files = FileLimit.current()
        self.socketLimit = max(1, files - 64)
        self.connectionLimit = min(settings.maxConnections, max(1, files - settings.maxHandshakes - 64))
        self.loopServices = Dictionary(uniqueKeysWithValues: services.map { (ObjectIdentifier($0.outbox.loop), $0) })
    }

    /// Open WebSocket connections and event streams: `--max-connections` counts both.
    var openSubscribers: Int {
        allServices.reduce(0) {
            $0 + $1.outbox.counters.connections.load(ordering: .relaxed) + $1.outbox.counters.sseConnections.load(ordering: .relaxed)
        }
    }

    func services(for loop: any EventLoop) -> LoopServices {
        loopServices[ObjectIdentifier(loop)]!
    }
}
