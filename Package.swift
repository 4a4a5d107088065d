// swift-tools-version:6.0
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    // Lets generic code from one module (JSONValue, headers, the router) be specialized where
    // another calls it, instead of resolving type metadata at run time on every request.
    .unsafeFlags(["-cross-module-optimization"], .when(configuration: .release)),
]

let package = Package(
    name: "Runnel",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "runnel", targets: ["runnel"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CSQLite",
            path: "Sources/CSQLite",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .systemLibrary(
            name: "CPostgres",
            path: "Sources/CPostgres",
            providers: [.apt(["libpq-dev"])]
        ),
        .target(name: "CEpoll"),
        .target(name: "CMalloc"),
        .target(name: "CCurl"),
        .target(name: "CTLS", linkerSettings: [.linkedLibrary("ssl"), .linkedLibrary("crypto")]),
        .target(name: "CSandbox", linkerSettings: [.linkedLibrary("seccomp")]),
        .target(name: "CodeInterpreter", dependencies: ["CSandbox", "RunsDomain"], swiftSettings: strictSettings),
        .target(name: "HTTPServer", dependencies: ["CEpoll", "CTLS"], swiftSettings: strictSettings),
        .target(name: "RunsDomain", swiftSettings: strictSettings),
        .target(
            name: "Observability",
            dependencies: [
                "RunsDomain",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(name: "TextEmbedder", swiftSettings: strictSettings),
        .plugin(
            name: "EmbedMigrations",
            capability: .buildTool(),
            dependencies: ["TextEmbedder"]
        ),
        .plugin(
            name: "EmbedInspector",
            capability: .buildTool(),
            dependencies: ["TextEmbedder"]
        ),
        .target(
            name: "RunsStorage",
            dependencies: [
                "CSQLite", "CPostgres", "RunsDomain", "Observability",
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            swiftSettings: strictSettings,
            plugins: ["EmbedMigrations"]
        ),
        .target(name: "ModelBackends", dependencies: ["RunsDomain", "CCurl"], swiftSettings: strictSettings),
        .target(name: "RunsWire", dependencies: ["RunsDomain"], swiftSettings: strictSettings),
        .target(
            name: "Retrieval",
            dependencies: ["RunsDomain", "RunsStorage", "ModelBackends"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "RunsEngine",
            dependencies: [
                "RunsDomain", "RunsWire", "RunsStorage", "ModelBackends", "Retrieval", "CodeInterpreter", "Observability",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "RunsAPI",
            dependencies: ["HTTPServer", "RunsDomain", "RunsWire", "RunsStorage", "RunsEngine", "ModelBackends", "Retrieval",
                           "Observability", .product(name: "Logging", package: "swift-log")],
            exclude: ["Inspector"],
            swiftSettings: strictSettings,
            plugins: ["EmbedInspector"]
        ),
        .executableTarget(
            name: "runnel",
            dependencies: ["RunsAPI", "RunsEngine", "HTTPServer", "RunsStorage", "ModelBackends", "Retrieval", "CodeInterpreter", "CMalloc",
                           "Observability", "CTLS",
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "Prometheus", package: "swift-prometheus")],
            swiftSettings: strictSettings,
            // Packed relative relocations (glibc 2.36+, which Debian bookworm has; gold cannot
            // write them, lld ships with the toolchain): the position-independent binary's 1.8 MB
            // relocation table becomes 34 KB, and it was all read, so resident, at every start.
            linkerSettings: [.unsafeFlags(["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"], .when(configuration: .release))]
        ),
        .testTarget(name: "HTTPServerTests", dependencies: ["HTTPServer"], swiftSettings: strictSettings),
        .testTarget(name: "CodeInterpreterTests", dependencies: ["CodeInterpreter", "RunsEngine"], swiftSettings: strictSettings),
        .testTarget(name: "ObservabilityTests", dependencies: ["Observability", .product(name: "Logging", package: "swift-log")],
                    swiftSettings: strictSettings),
        .testTarget(name: "RunsDomainTests", dependencies: ["RunsDomain"], swiftSettings: strictSettings),
        .testTarget(name: "RetrievalTests", dependencies: ["Retrieval", "RunsDomain", "RunsStorage", "StoreTestSupport"],
                    swiftSettings: strictSettings),
        .target(name: "StoreTestSupport", dependencies: ["RunsStorage"], swiftSettings: strictSettings),
        .testTarget(
            name: "RunsStorageTests",
            dependencies: ["RunsStorage", "RunsDomain", "StoreTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "ModelBackendsTests", dependencies: ["ModelBackends", "RunsDomain", "HTTPServer"], swiftSettings: strictSettings),
        .testTarget(
            name: "RunsAPITests",
            dependencies: ["RunsAPI", "RunsEngine", "RunsWire", "HTTPServer", "RunsStorage", "RunsDomain", "StoreTestSupport",
                           "Observability", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
