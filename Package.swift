// swift-tools-version:6.1
import PackageDescription

let nio: (String) -> Target.Dependency = { .product(name: $0, package: "swift-nio") }
let log: Target.Dependency = .product(name: "Logging", package: "swift-log")

/// The layers, each allowed to see only those below it (docs/ARCHITECTURE.md draws the graph;
/// `scripts/target_graph.py` prints it from this file and checks the document's copy):
/// at the bottom Topics, Digest, JSON, TOML and HeraldCommandLine, on no other target of
/// herald's, and Deflate on the system zlib; then the broker, JSON → HeraldAuth →
/// HeraldCore → HeraldBackplane → HeraldServer, with HeraldWire under the core and
/// HeraldRedis under the backplane; HeraldSettings (on TOML and HeraldCommandLine) is seen
/// first by HeraldServer, which builds the core's Configuration from it; the command line,
/// HeraldWire → HeraldClient → HeraldBench (which reads the socket default from
/// HeraldSettings); the `herald` executable on top of all.
let package = Package(
    name: "herald",
    products: [
        .executable(name: "herald", targets: ["herald"]),
        .library(name: "HeraldServer", targets: ["HeraldServer"]),
        .library(name: "Deflate", targets: ["Deflate"]),
        .library(name: "Topics", targets: ["Topics"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/swift-extras/swift-extras-base64.git", from: "1.2.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
    ],
    targets: [
        // C shims.
        .systemLibrary(
            name: "CZlib",
            path: "Sources/Shims/CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .target(name: "CMallocTuning", path: "Sources/Shims/CMallocTuning"),

        // Pure logic: no sockets, no threads.
        .target(name: "Topics", dependencies: [.product(name: "HeapModule", package: "swift-collections")]),
        .target(name: "Deflate", dependencies: ["CZlib", nio("NIOCore")]),
        // TOML 1.0 for the config file, on the standard library alone (no Foundation).
        .target(name: "TOML", path: "Sources/Broker/TOML"),
        // SHA-1 and HMAC-SHA256, all that herald hashes, on the standard library alone.
        .target(name: "Digest", path: "Sources/Broker/Digest"),
        // The CLI's parsing and help, on the standard library alone (no Foundation).
        .target(name: "HeraldCommandLine", path: "Sources/CLI/CommandLine"),
        // RFC 8259 JSON: the parser, the value, and the writer into a `ByteBuffer`.
        .target(name: "JSON", dependencies: [nio("NIOCore")], path: "Sources/Broker/JSON"),

        // The broker.
        .target(
            name: "HeraldWire",
            dependencies: [
                "Deflate", "Topics", "Digest", "JSON", nio("NIOCore"), nio("NIOHTTP1"), nio("NIOWebSocket"),
                .product(name: "ExtrasBase64", package: "swift-extras-base64"),
            ],
            path: "Sources/Broker/Wire"
        ),
        .target(
            name: "HeraldSettings",
            dependencies: ["Topics", "TOML", "HeraldCommandLine", log],
            path: "Sources/Broker/Settings"
        ),
        .target(
            name: "HeraldAuth",
            dependencies: [
                "Topics", "JSON", "Digest", nio("NIOCore"),
                .product(name: "ExtrasBase64", package: "swift-extras-base64"),
            ],
            path: "Sources/Broker/Auth"
        ),
        // The broker's state on the core loop, delivering to a small connection protocol.
        .target(
            name: "HeraldCore",
            dependencies: [
                "Deflate", "Topics", "JSON", "HeraldWire", "HeraldAuth", log, nio("NIOCore"), nio("NIOConcurrencyHelpers"), nio("NIOWebSocket"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "ExtrasBase64", package: "swift-extras-base64"),
            ],
            path: "Sources/Broker/Core"
        ),
        // One subscriber connection's rules as a pure state machine: no channel, no loop.
        .target(
            name: "HeraldConnection",
            dependencies: [
                "HeraldWire", "Topics", nio("NIOCore"), nio("NIOWebSocket"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            path: "Sources/Broker/Connection"
        ),
        // A small RESP2/RESP3 client for the Redis backplane.
        .target(
            name: "HeraldRedis",
            dependencies: ["Digest", nio("NIOCore"), nio("NIOPosix"), nio("NIOConcurrencyHelpers")],
            path: "Sources/Broker/Redis"
        ),
        // Several brokers as one through Redis (PROTOCOL.md §13).
        .target(
            name: "HeraldBackplane",
            dependencies: ["HeraldCore", "HeraldRedis", "Topics", log, nio("NIOCore")],
            path: "Sources/Broker/Backplane"
        ),
        // Sockets: channel handlers, bootstraps, signals; the embeddable `HeraldServer` API.
        .target(
            name: "HeraldServer",
            dependencies: [
                "HeraldConnection",
                "HeraldCore", "HeraldBackplane", "HeraldWire", "JSON", "HeraldSettings", "HeraldAuth", "Deflate", "Topics", "CMallocTuning", log,
                nio("NIOCore"), nio("NIOConcurrencyHelpers"), nio("NIOPosix"), nio("NIOHTTP1"), nio("NIOWebSocket"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            path: "Sources/Broker/Server"
        ),

        // The command line: the clients, the load tool and the `herald` executable.
        .target(
            name: "HeraldClient",
            dependencies: [
                "HeraldWire", "HeraldCommandLine", "Deflate", nio("NIOCore"), nio("NIOPosix"), nio("NIOHTTP1"), nio("NIOWebSocket"),
            ],
            path: "Sources/CLI/Client"
        ),
        .target(
            name: "HeraldBench",
            dependencies: [
                "HeraldClient", "HeraldCommandLine", "HeraldSettings", "HeraldWire", "Deflate", nio("NIOCore"), nio("NIOPosix"),
                .product(name: "ExtrasBase64", package: "swift-extras-base64"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Sources/CLI/Bench"
        ),
        .executableTarget(
            name: "herald",
            dependencies: [
                "HeraldServer", "HeraldSettings", "HeraldAuth", "HeraldClient", "HeraldBench", "HeraldCommandLine", "HeraldWire", "JSON", "Topics", log,
                nio("NIOCore"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Atomics", package: "swift-atomics"),
            ],
            path: "Sources/CLI/herald"
        ),

        .target(name: "TestSupport", path: "Tests/TestSupport"),
        // Reads TOML on stdin for the differential test against Python's tomllib (tests/toml).
        .executableTarget(name: "toml-check", dependencies: ["TOML"], path: "Tests/TOMLCheck"),
        // Hashes what it reads for the differential test against Python's hashlib (tests/digest).
        .executableTarget(name: "digest-check", dependencies: ["Digest"], path: "Tests/DigestCheck"),
        .testTarget(
            name: "HeraldRedisTests",
            dependencies: ["HeraldRedis", nio("NIOCore"), nio("NIOPosix"), nio("NIOEmbedded")]
        ),
        .testTarget(name: "DeflateTests", dependencies: ["Deflate", "TestSupport", nio("NIOCore")]),
        .testTarget(name: "TopicsTests", dependencies: ["Topics", "TestSupport"]),
        .testTarget(name: "HeraldSettingsTests", dependencies: ["HeraldSettings", "Topics", log]),
        .testTarget(name: "HeraldCommandLineTests", dependencies: ["HeraldCommandLine"]),
        .testTarget(
            name: "HeraldAuthTests",
            dependencies: ["HeraldAuth", "Topics", "TestSupport", "Digest"]
        ),
        .testTarget(
            name: "HeraldConnectionTests",
            dependencies: ["HeraldConnection", "Topics", nio("NIOCore"), nio("NIOWebSocket")]
        ),
        .testTarget(
            name: "HeraldTests",
            dependencies: [
                "HeraldWire", "JSON", "HeraldAuth", "HeraldCore", "HeraldServer", "HeraldClient", "HeraldSettings", "Deflate", "Topics",
                nio("NIOCore"), nio("NIOEmbedded"), nio("NIOWebSocket"), nio("NIOHTTP1"), log,
            ]
        ),
    ]
)

for target in package.targets where target.type != .system && !target.name.hasPrefix("C") {
    target.swiftSettings = (target.swiftSettings ?? []) + [
        .enableUpcomingFeature("ExistentialAny"),
    ]
}

// libFuzzer targets (`make fuzz`), only declared when asked for, so that ordinary builds
// and CI do not compile them. Each is built with `-sanitize=fuzzer,address`.
if Context.environment["HERALD_FUZZ"] == "1" {
    package.targets.append(.target(name: "CFuzzerDriver", path: "Fuzz/CFuzzerDriver"))
    let fuzzDependencies: [Target.Dependency] = [
        "HeraldWire", "HeraldAuth", "JSON", "Deflate", "CFuzzerDriver",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOEmbedded", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "NIOWebSocket", package: "swift-nio"),
    ]
    for name in ["FuzzPublisherParser", "FuzzJSONRequest", "FuzzExtensions", "FuzzInflate", "FuzzFrames", "FuzzHTTPUpgrade", "FuzzToken"] {
        package.targets.append(.executableTarget(name: name, dependencies: fuzzDependencies, path: "Fuzz/\(name)"))
    }
}

// Micro-benchmarks (ordo-one/benchmark): `make benchmarks`. Declared only when asked for, so
// that ordinary builds and CI do not fetch or build the benchmark framework.
if Context.environment["HERALD_BENCHMARKS"] == "1" {
    package.dependencies.append(.package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]))
    package.targets.append(
        .executableTarget(
            name: "HeraldBenchmarks",
            dependencies: [
                "HeraldCore", "HeraldServer", "HeraldSettings", "HeraldWire", "Deflate", "Topics",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ],
            path: "Benchmarks/HeraldBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    )
}
