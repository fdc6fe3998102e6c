import NIOCore
import NIOPosix

/// The broker's threads. With more than one, the core loop (the broker's state and the
/// Unix-socket publishers) has a thread of its own and WebSocket connections use the
/// others, so no client's inbound work competes with publishing (PROTOCOL.md §6). With one,
/// everything shares it, as a small board wants.
struct EventLoops: Sendable {
    let core: MultiThreadedEventLoopGroup
    /// Where WebSocket connections live: the core's group again when there is one thread.
    let connections: MultiThreadedEventLoopGroup
    private let separate: Bool

    init(threads: Int) {
        separate = threads > 1
        core = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        connections = separate ? MultiThreadedEventLoopGroup(numberOfThreads: threads - 1) : core
    }

    var coreLoop: any EventLoop { core.next() }

    /// The core loop first.
    var all: [any EventLoop] {
        separate ? [coreLoop] + Array(connections.makeIterator()) : [coreLoop]
    }

    func shutdown() async {
        if separate { try? await connections.shutdownGracefully() }
        try? await core.shutdownGracefully()
    }
}
