// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "herald",
    products: [
        .executable(name: "herald", targets: ["herald"]),
        .library(name: "Broker", targets: ["Broker"]),
        .library(name: "Deflate", targets: ["Deflate"]),
        .library(name: "Topics", targets: ["Topics"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.3.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .target(
            name: "Deflate",
            dependencies: [
                "CZlib",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .target(name: "Topics"),
        .target(name: "CMallocTuning"),
        .executableTarget(
            name: "herald",
            dependencies: ["Broker", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .target(
            name: "Broker",
            dependencies: [
                "CMallocTuning",
                "Deflate",
                "Topics",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Atomics", package: "swift-atomics"),
            ]
        ),
        .testTarget(name: "DeflateTests", dependencies: ["Deflate"]),
        .testTarget(name: "TopicsTests", dependencies: ["Topics"]),
        .testTarget(
            name: "BrokerTests",
            dependencies: [
                "Broker",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
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
        "Broker", "Deflate", "CFuzzerDriver",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOEmbedded", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "NIOWebSocket", package: "swift-nio"),
    ]
    for name in ["FuzzPublisherParser", "FuzzJSONRequest", "FuzzExtensions", "FuzzInflate", "FuzzFrames", "FuzzHTTPUpgrade"] {
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
                "Broker", "Deflate", "Topics",
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
