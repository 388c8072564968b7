// swift-tools-version: 6.0
import PackageDescription

/// One set of settings for every target: Swift 6 language mode everywhere.
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

/// A stage module: a library target under `Plugins/<Name>` that sees only the core and `Vips`.
func stage(_ name: String) -> Target {
    .target(
        name: name,
        dependencies: ["RenditionCore", "Vips"],
        path: "Plugins/\(name)",
        swiftSettings: swiftSettings
    )
}

/// The tests of a stage module, under `Tests/<Name>Tests`.
func stageTests(_ name: String) -> Target {
    .testTarget(
        name: "\(name)Tests",
        dependencies: [.target(name: name), "RenditionCore", "Vips", "TestSupport"],
        swiftSettings: swiftSettings
    )
}

let stageNames = [
    "Orient", "Crop", "Resize", "Pad", "Trim", "Rotate", "Flip", "Sharpen", "Blur", "Watermark", "Encode",
]

let package = Package(
    name: "Rendition",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "rendition", targets: ["RenditionCLI"]),
        .executable(name: "bootstrap", targets: ["RenditionBootstrap"]),
        .library(name: "RenditionCore", targets: ["RenditionCore"]),
        .library(name: "RenditionCatalog", targets: ["RenditionCatalog"]),
        // `make bench` only: Rendition's engine in a loop on one thread (docs/performance.md).
        .executable(name: "rendition-bench", targets: ["RenditionBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.0.0"..<"5.0.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.20.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.1.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.24.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.0.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CVips",
            pkgConfig: "vips",
            providers: [.apt(["libvips-dev"])]
        ),
        .target(name: "Vips", dependencies: ["CVips"], swiftSettings: swiftSettings),
        // The one coded-error shape every module reports with.
        .target(name: "Failures", swiftSettings: swiftSettings),
        .target(
            name: "RenditionCore",
            dependencies: [
                "Vips", "Failures",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
    ] + stageNames.map(stage) + [
        .target(
            name: "RenditionCatalog",
            dependencies: [
                "RenditionCore",
                .product(name: "Yams", package: "Yams"),
            ] + stageNames.map { .target(name: $0) },
            swiftSettings: swiftSettings
        ),
        // The preset studio's report model and pages, shared by `rendition preview` and the server's page.
        .target(
            name: "RenditionPreview",
            dependencies: [
                "RenditionCore", "Vips",
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ObjectStorage",
            dependencies: [
                "Failures",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "S3Storage",
            dependencies: [
                "ObjectStorage", "Failures",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "RenditionService",
            dependencies: [
                "Failures", "RenditionCore", "RenditionCatalog", "RenditionPreview", "ObjectStorage", "S3Storage",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "RenditionServer",
            dependencies: [
                "RenditionService", "RenditionCore", "ObjectStorage",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "RenditionLambda",
            dependencies: [
                "RenditionService", "RenditionCore", "ObjectStorage", "S3Storage",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "RenditionBootstrap",
            dependencies: [
                "RenditionLambda", "RenditionService", "RenditionCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "RenditionCLI",
            dependencies: [
                "RenditionServer",
                "RenditionService",
                "RenditionCatalog",
                "RenditionCore",
                "RenditionPreview",
                "ObjectStorage",
                "S3Storage",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "RenditionBench",
            dependencies: ["RenditionCatalog", "RenditionCore"],
            path: "benchmarks/RenditionBench",
            swiftSettings: swiftSettings
        ),
        // Fixture makers shared by the test targets: images are generated with libvips, never committed.
        // Fuzz targets (`make fuzz`): libFuzzer drivers when built with -DFUZZING, replayers of the
        // regression corpus in Fuzz/regressions otherwise (the test suite runs them).
        .target(name: "FuzzDriver", path: "Fuzz/Driver", swiftSettings: swiftSettings),
        .executableTarget(
            name: "FuzzPipeline",
            dependencies: ["FuzzDriver", "RenditionCatalog", "RenditionCore", "Vips"],
            path: "Fuzz/Pipeline",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "FuzzJPEGScans",
            dependencies: ["FuzzDriver", "Vips"],
            path: "Fuzz/JPEGScans",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "FuzzRequestPath",
            dependencies: ["FuzzDriver", "RenditionService", "ObjectStorage"],
            path: "Fuzz/RequestPath",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TestSupport",
            dependencies: ["Vips", "RenditionCore", "RenditionCatalog"],
            path: "Tests/TestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "VipsTests", dependencies: ["Vips", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "RenditionCoreTests",
            dependencies: ["RenditionCore", "Vips", "TestSupport"],
            swiftSettings: swiftSettings
        ),
    ] + stageNames.map(stageTests) + [
        .testTarget(
            name: "RenditionCatalogTests",
            dependencies: ["RenditionCatalog", "RenditionCore", "RenditionPreview", "TestSupport", "Vips"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RenditionPreviewTests",
            dependencies: ["RenditionPreview", "RenditionCatalog", "RenditionCore", "Vips", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ObjectStorageTests",
            dependencies: [
                "ObjectStorage", "S3Storage", "TestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "S3StorageTests",
            dependencies: [
                "S3Storage", "ObjectStorage", "TestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RenditionServiceTests",
            dependencies: [
                "RenditionService", "RenditionCatalog", "RenditionCore", "ObjectStorage", "TestSupport",
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RenditionServerTests",
            dependencies: [
                "RenditionServer", "RenditionService", "RenditionCore", "ObjectStorage", "TestSupport",
                "RenditionCatalog",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RenditionLambdaTests",
            dependencies: [
                "RenditionLambda", "RenditionBootstrap", "RenditionService", "RenditionCatalog", "RenditionCore",
                "TestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RenditionCLITests",
            dependencies: ["RenditionCLI", "RenditionCatalog", "TestSupport", "Vips"],
            swiftSettings: swiftSettings
        ),
    ]
)
