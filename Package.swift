// swift-tools-version:6.2
// Quorum: an ML crypto-trading pipeline as a cluster of Swift services over Kafka, Redis and Postgres.
// Layers (one way only, see docs/architecture.md):
//   QuorumModel  ←  domain libraries  ←  adapters (QuorumBus/QuorumKafka/QuorumRedis/QuorumPostgres/QuorumServiceKit)  ←  Services/*
import PackageDescription

let strict: [SwiftSetting] = [
    .treatAllWarnings(as: .error),
    .enableUpcomingFeature("ExistentialAny"),
]
/// The numeric cores (indicators, model fitting) are optimised in debug builds too: the test suites run them over
/// hundreds of thousands of bars (indicator drift, backtests, walk-forward), about ten times slower unoptimised.
let numeric: [SwiftSetting] = strict + [.unsafeFlags(["-O"], .when(configuration: .debug))]

let services = [
    "quorum-ingest", "quorum-features", "quorum-trainer", "quorum-inference",
    "quorum-consensus", "quorum-risk", "quorum-execution", "quorum-monitor",
]

func serviceFolder(_ name: String) -> String {
    // quorum-ingest -> Services/Ingest
    let base = name.dropFirst("quorum-".count)
    return "Services/" + base.prefix(1).uppercased() + base.dropFirst()
}

let package = Package(
    name: "Quorum",
    platforms: [.macOS(.v15)],
    products: services.map { .executable(name: $0, targets: [$0]) } + [
        .executable(name: "quorum", targets: ["quorum"]),
        .executable(name: "quorum-bench", targets: ["quorum-bench"]),
        // The entry functions of the libFuzzer targets (fuzz/Package.swift builds them with -sanitize=fuzzer).
        .library(name: "QuorumFuzzEntries", targets: ["QuorumFuzzEntries"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.9.0" ..< "6.0.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.34.1"),
        // TLS for Postgres (PostgresNIO takes an NIOSSLContext) and Redis (the TLS tunnel in QuorumRedis); already in the
        // build through async-http-client and postgres-nio.
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        // The configuration sources (environment variables, the JSON file, one reader over all sources in precedence
        // order): QuorumServiceKit's ConfigurationSources. Only the JSON trait: no YAML (Yams), reloading
        // (ServiceLifecycle, Metrics), logging or command-line provider (flags stay ours; see ConfigurationSources).
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0", traits: ["JSON"]),
    ],
    targets: [
        // C libraries (system-library targets found through pkg-config).
        .systemLibrary(name: "CRdKafka", path: "Shared/CRdKafka", pkgConfig: "rdkafka",
                       providers: [.apt(["librdkafka-dev (>= 2.3), or scripts/bootstrap"]), .brew(["librdkafka"])]),
        .systemLibrary(name: "CHiredis", path: "Shared/CHiredis", pkgConfig: "hiredis",
                       providers: [.apt(["libhiredis-dev"]), .brew(["hiredis"])]),

        .systemLibrary(name: "COpenBLAS", path: "Shared/COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"]), .brew(["openblas"])]),
        .systemLibrary(name: "CZlib", path: "Shared/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"]), .brew(["zlib"])]),

        // Model: value types, no dependencies.
        .target(name: "QuorumModel", path: "Shared/QuorumModel", swiftSettings: strict),
        // Domain libraries: pure logic (no I/O), stage cores that take events and return actions.
        .target(name: "QuorumMarketData", dependencies: ["QuorumModel"], path: "Shared/QuorumMarketData", swiftSettings: strict),
        .target(name: "QuorumFeatures", dependencies: ["QuorumModel"], path: "Shared/QuorumFeatures", swiftSettings: numeric),
        .target(name: "QuorumML", dependencies: ["QuorumModel", "QuorumAnalytics", "COpenBLAS"], path: "Shared/QuorumML", swiftSettings: numeric),
        .target(name: "QuorumStrategy", dependencies: ["QuorumModel"], path: "Shared/QuorumStrategy", swiftSettings: strict),
        .target(name: "QuorumRisk", dependencies: ["QuorumModel", .product(name: "DequeModule", package: "swift-collections")],
                path: "Shared/QuorumRisk", swiftSettings: strict),
        .target(name: "QuorumExecution", dependencies: ["QuorumModel", "QuorumAnalytics", .product(name: "DequeModule", package: "swift-collections")],
                path: "Shared/QuorumExecution", swiftSettings: strict),
        .target(name: "QuorumAnalytics", path: "Shared/QuorumAnalytics", swiftSettings: strict),
        // The monitor's alert rules: events in, alerts to raise or resolve out (equity from QuorumExecution's Ledger).
        .target(name: "QuorumAlerts", dependencies: ["QuorumModel", "QuorumExecution"], path: "Shared/QuorumAlerts", swiftSettings: strict),
        // Wire schemas: generated by scripts/gen-proto from proto/quorum/v1 (committed).
        .target(name: "QuorumProto", dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
                path: "Shared/QuorumProto", swiftSettings: strict),
        // Bus: MessageBus protocols, topic registry, envelope helpers, in-memory implementation.
        .target(name: "QuorumBus", dependencies: [
            "QuorumModel", "QuorumProto",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ], path: "Shared/QuorumBus", swiftSettings: strict),
        // Kafka implementation of the bus (librdkafka).
        .target(name: "QuorumKafka", dependencies: [
            "QuorumBus", "CRdKafka",
            .product(name: "Logging", package: "swift-log"),
        ], path: "Shared/QuorumKafka", swiftSettings: strict),
        // TLS files and client TLS settings shared by the adapters (CA files checked at start-up, NIOSSL trust roots).
        .target(name: "QuorumTLS", dependencies: [
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ], path: "Shared/QuorumTLS", swiftSettings: strict),
        // Redis hot state (hiredis on a dedicated thread).
        .target(name: "QuorumRedis", dependencies: [
            "QuorumModel", "CHiredis", "QuorumTLS",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOTLS", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ], path: "Shared/QuorumRedis", swiftSettings: strict),
        // Postgres durable records (PostgresNIO): migrations, idempotency.
        .target(name: "QuorumPostgres", dependencies: [
            "QuorumModel", "QuorumTLS",
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ], path: "Shared/QuorumPostgres", swiftSettings: strict),
        // Stage logic on the bus: wire mapping, the stage host (rebuild, batches, commits) and one logic per stage.
        .target(name: "QuorumPipeline", dependencies: [
            "QuorumModel", "QuorumProto", "QuorumBus", "QuorumMarketData", "QuorumFeatures", "QuorumML",
            "QuorumStrategy", "QuorumRisk", "QuorumExecution", "QuorumAlerts", "CZlib",
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            .product(name: "DequeModule", package: "swift-collections"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Histogram", package: "hdrhistogram-swift"),
        ], path: "Shared/QuorumPipeline", swiftSettings: strict),
        // Research: `quorum backtest` on the stage logics (EventTimeDriver), its config, outputs and report; no servers.
        .target(name: "QuorumResearch", dependencies: [
            "QuorumPipeline", "QuorumAnalytics", "QuorumModel", "QuorumMarketData", "QuorumFeatures", "QuorumML",
            "QuorumStrategy", "QuorumRisk", "QuorumExecution", "QuorumBus", "QuorumProto",
            .product(name: "Crypto", package: "swift-crypto"),
        ], path: "Shared/QuorumResearch", swiftSettings: strict),
        // Stores: the pipeline's durable records in Postgres (bar archive, model registry, training runs,
        // orders/fills/positions ledger, risk denials, alerts); every write idempotent.
        .target(name: "QuorumStores", dependencies: [
            "QuorumPostgres", "QuorumModel",
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Logging", package: "swift-log"),
        ], path: "Shared/QuorumStores", swiftSettings: strict),
        // Service kit: configuration, logging, metrics, health endpoints, lifecycle.
        .target(name: "QuorumServiceKit", dependencies: [
            "QuorumBus", "QuorumKafka", "QuorumRedis", "QuorumPostgres", "QuorumTLS",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Configuration", package: "swift-configuration"),
        ], path: "Shared/QuorumServiceKit", swiftSettings: strict),

        // Alert delivery to Slack, Discord and Telegram webhooks (AsyncHTTPClient): formats, the delivery state machine
        // (de-duplication, rate limits, retries, back-off) and its dispatcher, off the pipeline's path.
        .target(name: "QuorumAlertDelivery", dependencies: [
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "DequeModule", package: "swift-collections"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], path: "Shared/QuorumAlertDelivery", swiftSettings: strict),

        // The services' wiring: stage logic + stores + service kit; each @main calls one function of it.
        .target(name: "QuorumServices", dependencies: [
            "QuorumServiceKit", "QuorumPipeline", "QuorumStores", "QuorumBus", "QuorumKafka", "QuorumRedis", "QuorumPostgres",
            "QuorumModel", "QuorumMarketData", "QuorumProto", "QuorumML", "QuorumFeatures", "QuorumStrategy", "QuorumRisk", "QuorumExecution",
            "QuorumAlerts", "QuorumAlertDelivery", "QuorumResearch", "QuorumAnalytics",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], path: "Shared/QuorumServices", swiftSettings: strict),

        // Bad input: one entry function per libFuzzer target (bytes in, a clear error or a dead letter out; a trap on
        // anything else). The fuzz package (fuzz/) wraps each in LLVMFuzzerTestOneInput; FuzzCorpusTests replays the
        // committed corpus through the same functions without libFuzzer.
        .target(name: "QuorumFuzzEntries", dependencies: [
            "QuorumMarketData", "QuorumProto", "QuorumBus", "QuorumPipeline", "QuorumServiceKit", "QuorumResearch",
            "QuorumFeatures", "QuorumModel", "QuorumML",
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
            .product(name: "Logging", package: "swift-log"),
        ], path: "Shared/QuorumFuzzEntries", swiftSettings: strict),

        .executableTarget(name: "quorum", dependencies: [
            "QuorumServices", "QuorumPipeline", "QuorumStores", "QuorumPostgres", "QuorumModel", "QuorumProto", "QuorumExecution",
            "QuorumServiceKit", "QuorumBus", "QuorumKafka", "QuorumMarketData", "QuorumResearch",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Services/CLI", swiftSettings: strict),
        .executableTarget(name: "quorum-bench", dependencies: [
            "QuorumKafka", "CRdKafka",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "bench/BusBench", swiftSettings: strict),

        // Tests: one target per area. Suites whose name ends in "IntegrationTests" need the real servers
        // that `make test` starts (scripts/servers); every other suite runs without servers.
        .testTarget(name: "QuorumBusTests", dependencies: ["QuorumBus", "QuorumModel", "QuorumProto"],
                    path: "Tests/QuorumBusTests", swiftSettings: strict),
        .testTarget(name: "QuorumKafkaTests", dependencies: ["QuorumKafka", "QuorumBus", "QuorumPostgres", "CRdKafka"],
                    path: "Tests/QuorumKafkaTests", swiftSettings: strict),
        .testTarget(name: "QuorumMarketDataTests", dependencies: ["QuorumMarketData", "QuorumFeatures", "QuorumModel"],
                    path: "Tests/QuorumMarketDataTests", swiftSettings: strict),
        .testTarget(name: "QuorumIndicatorTests", dependencies: ["QuorumFeatures", "QuorumModel", "CZlib"],
                    path: "Tests/QuorumIndicatorTests", swiftSettings: strict),
        .testTarget(name: "QuorumMLTests", dependencies: ["QuorumML", "QuorumModel"],
                    path: "Tests/QuorumMLTests", swiftSettings: strict),
        .testTarget(name: "QuorumTradingTests", dependencies: ["QuorumStrategy", "QuorumRisk", "QuorumExecution", "QuorumModel", "QuorumAnalytics",
                                                         .product(name: "PropertyBased", package: "swift-property-based")],
                    path: "Tests/QuorumTradingTests", swiftSettings: strict),
        .testTarget(name: "QuorumAnalyticsTests", dependencies: ["QuorumAnalytics"],
                    path: "Tests/QuorumAnalyticsTests", swiftSettings: strict),
        .testTarget(name: "QuorumPipelineTests", dependencies: [
            "QuorumPipeline", "QuorumBus", "QuorumModel", "QuorumProto", "QuorumFeatures", "QuorumML", "QuorumStrategy",
            "QuorumRisk", "QuorumExecution", .product(name: "DequeModule", package: "swift-collections"),
            .product(name: "Logging", package: "swift-log"),
        ], path: "Tests/QuorumPipelineTests", swiftSettings: strict),
        .testTarget(name: "QuorumResearchTests", dependencies: [
            "QuorumResearch", "QuorumPipeline", "QuorumModel", "QuorumML", "QuorumFeatures", "QuorumExecution", "QuorumAnalytics",
            "QuorumMarketData",
        ], path: "Tests/QuorumResearchTests", swiftSettings: strict),
        .testTarget(name: "QuorumClusterTests", dependencies: [
            "QuorumServiceKit", "QuorumPipeline", "QuorumStores", "QuorumPostgres", "QuorumKafka", "QuorumBus", "QuorumModel",
            "QuorumProto", "QuorumRedis", "QuorumFeatures", "QuorumServices", "QuorumAnalytics", .product(name: "Logging", package: "swift-log"),
        ], path: "Tests/QuorumClusterTests", swiftSettings: strict),
        .testTarget(name: "QuorumAlertsTests", dependencies: [
            "QuorumAlerts", "QuorumAlertDelivery", "QuorumModel", "QuorumExecution", "QuorumServices", "QuorumServiceKit", "QuorumPipeline",
            "QuorumStores", "QuorumPostgres", "QuorumBus", "QuorumKafka", "QuorumProto",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ], path: "Tests/QuorumAlertsTests", swiftSettings: strict),
        .testTarget(name: "QuorumFuzzEntriesTests", dependencies: [
            "QuorumFuzzEntries", "QuorumMarketData", "QuorumServiceKit", "QuorumResearch", "QuorumFeatures", "QuorumPipeline",
            "QuorumBus", "QuorumProto", "QuorumModel",
        ], path: "Tests/QuorumFuzzEntriesTests", swiftSettings: strict),
        .testTarget(name: "QuorumProtoTests", dependencies: ["QuorumProto", "QuorumBus"],
                    path: "Tests/QuorumProtoTests", swiftSettings: strict),
        .testTarget(name: "QuorumRedisTests", dependencies: ["QuorumRedis"],
                    path: "Tests/QuorumRedisTests", swiftSettings: strict),
        .testTarget(name: "QuorumPostgresTests", dependencies: ["QuorumPostgres", "QuorumModel", .product(name: "NIOSSL", package: "swift-nio-ssl")],
                    path: "Tests/QuorumPostgresTests", swiftSettings: strict),
        .testTarget(name: "QuorumStoresTests", dependencies: ["QuorumStores", "QuorumPostgres", "QuorumModel"],
                    path: "Tests/QuorumStoresTests", swiftSettings: strict),
        .testTarget(name: "QuorumServiceKitTests", dependencies: ["QuorumServiceKit", "QuorumServices", "QuorumPipeline", "QuorumBus", "QuorumKafka", "QuorumML", "QuorumFeatures", "QuorumStores", "QuorumPostgres", "QuorumProto", "QuorumModel", "QuorumRedis", "QuorumTLS",
                                                          .product(name: "NIOCore", package: "swift-nio"),
                                                          .product(name: "NIOPosix", package: "swift-nio"),
                                                          .product(name: "NIOSSL", package: "swift-nio-ssl")],
                    path: "Tests/QuorumServiceKitTests", swiftSettings: strict),
    ] + services.map { name in
        .executableTarget(name: name, dependencies: ["QuorumServiceKit", "QuorumServices"], path: serviceFolder(name), swiftSettings: strict)
    }
)
