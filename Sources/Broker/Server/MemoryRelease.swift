import CMallocTuning
import NIOCore

/// Gives freed heap back to the kernel after a spike (PROTOCOL.md §6: memory bounded whatever
/// clients do, and not kept after they stop). glibc returns only the top of its heap on its
/// own; what a spike frees in the middle (retained messages cleared, a flood of connections
/// gone) stays resident until `malloc_trim(0)`. It runs on the core loop every
/// `interval`; BENCHMARKS.md has its cost (milliseconds on a large heap, nothing on the
/// fan-out figures at this interval).
enum MemoryRelease {
    static let interval = TimeAmount.seconds(10 as Int64)

    static func start(on loop: any EventLoop) -> RepeatedTask {
        loop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            _ = herald_release_free_memory()
        }
    }
}
