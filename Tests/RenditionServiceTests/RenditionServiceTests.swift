import Foundation
import ObjectStorage
import RenditionCatalog
import RenditionCore
import RenditionService
import TestSupport
import Testing

func makeService(
    source: any ObjectStore = MemoryStore(), renditions: any ObjectStore = MemoryStore(),
    configure: (inout ServiceSettings) -> Void = { _ in }
) throws -> RenditionService {
    var settings = ServiceSettings()
    settings.workers = 2
    configure(&settings)
    return try RenditionService(plans: shippedPlans, source: source, renditions: renditions, settings: settings)
}

@Suite struct RenditionServiceTests {
    @Test func rendersStoresAndThenFindsIt() async throws {
        let source = MemoryStore()
        let renditions = MemoryStore()
        try await source.put(
            try ObjectKey("users/42/me.jpg"), try Fixtures.jpeg(Fixtures.photo(width: 1200, height: 800)),
            options: PutOptions(contentType: "image/jpeg"))
        let service = try makeService(source: source, renditions: renditions)
        let address = try service.address(preset: "thumbnail", key: "users/42/me.jpg")
        #expect(address.renditionKey.rawValue == "thumbnail/users/42/me.jpg")
        #expect(try await service.rendition(address) == nil)

        guard case .rendered(let metadata, let timings) = try await service.render(address) else {
            Issue.record("expected a render"); return
        }
        #expect(metadata.contentType == "image/webp" && metadata.cacheControl == "public, max-age=1209600")
        #expect(timings.process > .zero)
        let stored = try #require(try await renditions.get(address.renditionKey, maxBytes: 1 << 20))
        #expect(try Fixtures.decode(stored.body).width == 400)
        #expect(stored.metadata.userMetadata["rendition-fingerprint"] == address.plan.fingerprint)

        guard case .existing = try await service.render(address) else {
            Issue.record("expected no second render"); return
        }
        #expect(renditions.putCount == 1)
        try await service.shutdown()
    }

    @Test(arguments: [
        ("thumbnail", "../etc/passwd", RenditionError.Code.invalidKey), ("thumbnail", "/abs.jpg", .invalidKey),
        ("thumbnail", "a\u{0}b.jpg", .invalidKey), ("thumbnail", "a\\b.jpg", .invalidKey),
        ("thumbnail", String(repeating: "k", count: 1100), .invalidKey), ("nosuch", "a.jpg", .unknownPreset),
    ])
    func refusesBadAddresses(preset: String, key: String, code: RenditionError.Code) throws {
        let service = try makeService()
        let error = #expect(throws: RenditionError.self) { try service.address(preset: preset, key: key) }
        #expect(error?.code == code)
    }

    @Test func badOriginalsAreTypedAndStoreNothing() async throws {
        let source = MemoryStore()
        let renditions = MemoryStore()
        let cases: [(String, [UInt8], RenditionError.Code)] = [
            (
                "corrupt.jpg",
                Fixtures.truncated(try Fixtures.jpeg(Fixtures.photo(width: 800, height: 600)), keeping: 0.4),
                .corruptImage
            ),
            ("page.jpg", Array("<html>nope</html>".utf8), .unsupportedFormat),
            ("bomb.jpg", try Fixtures.jpegClaiming(width: 65_500, height: 65_500), .tooManyPixels),
            ("bomb.png", try Fixtures.pngClaiming(width: 100_000, height: 100_000), .tooManyPixels),
            ("huge.jpg", [UInt8](repeating: 0xFF, count: 3000), .inputTooLarge),
        ]
        for (key, bytes, _) in cases {
            try await source.put(try ObjectKey(key), bytes, options: PutOptions(contentType: "image/jpeg"))
        }
        let service = try makeService(source: source, renditions: renditions) { $0.maxInputBytes = 2048 + 900_000 }
        for (key, _, code) in cases where key != "huge.jpg" {
            let error = await #expect(throws: RenditionError.self) {
                try await service.render(try service.address(preset: "thumbnail", key: key))
            }
            #expect(error?.code == code, "\(key)")
        }
        let missing = await #expect(throws: RenditionError.self) {
            try await service.render(try service.address(preset: "thumbnail", key: "nope.jpg"))
        }
        #expect(missing?.code == .originalNotFound)
        #expect(renditions.putCount == 0)

        let small = try makeService(source: source, renditions: renditions) { $0.maxInputBytes = 2048 }
        let tooBig = await #expect(throws: RenditionError.self) {
            try await small.render(try small.address(preset: "thumbnail", key: "huge.jpg"))
        }
        #expect(tooBig?.code == .inputTooLarge)
        try await service.shutdown()
        try await small.shutdown()
    }

    @Test func aStampedeRendersOnce() async throws {
        let source = MemoryStore()
        let renditions = MemoryStore()
        try await source.put(
            try ObjectKey("hot.jpg"), try Fixtures.jpeg(Fixtures.photo(width: 2000, height: 1500)),
            options: PutOptions(contentType: "image/jpeg"))
        let service = try makeService(source: source, renditions: renditions)
        let address = try service.address(preset: "avatar", key: "hot.jpg")
        let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<100 {
                group.addTask {
                    if case .rendered = try await service.render(address) { return true }
                    return false
                }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(outcomes.count == 100)
        #expect(renditions.putCount == 1, "exactly one render stored")
        try await service.shutdown()
    }

    @Test func aFullQueueRefusesAndRecovers() async throws {
        let source = MemoryStore()
        let input = try Fixtures.jpeg(Fixtures.photo(width: 3000, height: 2000))
        for index in 0..<6 {
            try await source.put(try ObjectKey("p\(index).jpg"), input, options: PutOptions(contentType: "image/jpeg"))
        }
        let service = try makeService(source: source) {
            $0.workers = 1
            $0.queueSize = 0
        }
        let results = await withTaskGroup(of: RenditionError.Code?.self) { group in
            for index in 0..<6 {
                group.addTask {
                    do {
                        _ = try await service.render(try service.address(preset: "original-webp", key: "p\(index).jpg"))
                        return nil
                    } catch let error as RenditionError { return error.code } catch { return .internal }
                }
            }
            return await group.reduce(into: [RenditionError.Code?]()) { $0.append($1) }
        }
        #expect(results.contains { $0 == nil }, "some render got through")
        #expect(results.contains { $0 == .overloaded }, "the rest were refused, not queued without bound")
        // Once the queue drains, the refused renditions render.
        for index in 0..<6 {
            _ = try await service.render(try service.address(preset: "original-webp", key: "p\(index).jpg"))
        }
        try await service.shutdown()
    }

    @Test func aSlowRenderPastTheDeadlineTimesOutAndFreesTheWorker() async throws {
        let source = MemoryStore()
        try await source.put(
            try ObjectKey("big.jpg"), try Fixtures.jpeg(Fixtures.photo(width: 4000, height: 3000)),
            options: PutOptions(contentType: "image/jpeg"))
        try await source.put(
            try ObjectKey("small.jpg"), try Fixtures.jpeg(Fixtures.photo(width: 300, height: 200)),
            options: PutOptions(contentType: "image/jpeg"))
        let service = try makeService(source: source) {
            $0.workers = 1
            $0.renderTimeout = .milliseconds(20)
        }
        let error = await #expect(throws: RenditionError.self) {
            try await service.render(try service.address(preset: "original-webp", key: "big.jpg"))
        }
        #expect(error?.code == .deadlineExceeded)
        // The single worker is free again: a quick render still fits in the same deadline budget.
        let fast = try makeService(source: source) { $0.workers = 1 }
        _ = try await fast.render(try fast.address(preset: "thumbnail", key: "small.jpg"))
        try await service.shutdown()
        try await fast.shutdown()
    }

    @Test func workOnTheFileSystemStoresToo() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rendition-svc-\(UUID().uuidString)")
        let source = try FileSystemStore(root: folder.appendingPathComponent("originals"))
        let renditions = try FileSystemStore(root: folder.appendingPathComponent("renditions"))
        try await source.put(
            try ObjectKey("a b/ü.jpg"), try Fixtures.jpeg(Fixtures.photo(width: 900, height: 600)),
            options: PutOptions(contentType: "image/jpeg"))
        let service = try makeService(source: source, renditions: renditions)
        _ = try await service.render(try service.address(preset: "hero", key: "a b/ü.jpg"))
        let file = folder.appendingPathComponent("renditions/hero/a b/ü.jpg")
        #expect(try Fixtures.decode([UInt8](Data(contentsOf: file))).width == 900, "enlarge: false keeps 900")
        try await service.shutdown()
    }
}

@Suite struct ConfigurationTests {
    @Test func defaultsRunLocally() throws {
        let configuration = try RenditionConfiguration.load(file: nil, environment: [:])
        #expect(
            configuration.port == 8080 && configuration.host == "127.0.0.1" && configuration.renderPrefix == "_render")
        #expect(configuration.source.path == "data/originals" && configuration.renditions.path == "data/renditions")
    }

    @Test func environmentOverridesTheFile() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("rendition-\(UUID().uuidString).yaml")
        try
            "server:\n  port: 9000\n  publicBaseURL: https://img.example.com\nlimits:\n  renderTimeout: 5s\n  queueSize: 3\n"
            .write(
                to: file, atomically: true, encoding: .utf8)
        let configuration = try RenditionConfiguration.load(file: file.path, environment: ["RENDITION_PORT": "9100"])
        #expect(configuration.port == 9100 && configuration.publicBaseURL == "https://img.example.com")
        #expect(configuration.service.renderTimeout == .seconds(5) && configuration.service.queueSize == 3)
    }

    @Test func s3Stores() throws {
        let environment = [
            "RENDITION_SOURCE_TYPE": "s3", "RENDITION_SOURCE_BUCKET": "originals-bucket",
            "RENDITION_SOURCE_PREFIX": "/in/",
            "RENDITION_SOURCE_ENDPOINT": "http://127.0.0.1:9000", "RENDITION_SOURCE_ADDRESSING": "path",
            "RENDITION_RENDITIONS_TYPE": "s3",
            "RENDITION_RENDITIONS_BUCKET": "renditions-bucket", "RENDITION_RENDITIONS_REGION": "eu-west-3",
        ]
        let configuration = try RenditionConfiguration.load(file: nil, environment: environment)
        #expect(
            configuration.source.kind == .s3 && configuration.source.prefix == "in"
                && configuration.source.addressing == .path)
        #expect(configuration.renditions.region == "eu-west-3" && configuration.renditions.addressing == .virtual)
        let missingCredentials = #expect(throws: ConfigurationError.self) {
            try configuration.makeStores(environment: [:])
        }
        #expect(missingCredentials?.description.contains("AWS_ACCESS_KEY_ID") == true)
        let stores = try configuration.makeStores(environment: ["AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"])
        #expect("\(stores.source)".hasPrefix("s3://originals-bucket/in"))
        #expect("\(stores.renditions)".contains("https://s3.eu-west-3.amazonaws.com"))
        try stores.shutdownNow()

        let noBucket = #expect(throws: ConfigurationError.self) {
            try RenditionConfiguration.load(
                file: nil, environment: ["RENDITION_SOURCE_TYPE": "s3", "RENDITION_RENDITIONS_ADDRESSING": "sideways"])
        }
        #expect(noBucket?.description.contains("storage.source.bucket (RENDITION_SOURCE_BUCKET): required") == true)
        #expect(noBucket?.description.contains("RENDITION_RENDITIONS_ADDRESSING: expected path or virtual") == true)
    }

    @Test func badValuesNameTheSetting() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("rendition-\(UUID().uuidString).yaml")
        try "server:\n  port: eighty\n  colour: blue\n".write(to: file, atomically: true, encoding: .utf8)
        let error = #expect(throws: ConfigurationError.self) {
            try RenditionConfiguration.load(
                file: file.path, environment: ["RENDITION_WORKERS": "-2", "RENDITION_PUBLIC_BASE_URL": "ftp://x/"])
        }
        let text = error?.description ?? ""
        #expect(text.contains(":2:9: server.port: expected a port number from 1 to 65535, got eighty"), "\(text)")
        #expect(text.contains("server.colour: unknown setting"))
        #expect(text.contains("RENDITION_WORKERS: expected a number of render threads"))
        #expect(text.contains("RENDITION_PUBLIC_BASE_URL: expected an http(s) URL"))
        let missing = #expect(throws: ConfigurationError.self) {
            try RenditionConfiguration.load(file: "/nonexistent.yaml", environment: [:])
        }
        #expect(missing?.description.contains("configuration file not found") == true)
    }

    @Test func theMemoryCacheTakesAByteCountOrZero() throws {
        #expect(try RenditionConfiguration.load(file: nil, environment: [:]).service.memoryCacheBytes == 32 << 20)
        let set = try RenditionConfiguration.load(file: nil, environment: ["RENDITION_MEMORY_CACHE": "64M"])
        #expect(set.service.memoryCacheBytes == 64_000_000)
        let off = try RenditionConfiguration.load(file: nil, environment: ["RENDITION_MEMORY_CACHE": "0"])
        #expect(off.service.memoryCacheBytes == 0)
        let bad = #expect(throws: ConfigurationError.self) {
            try RenditionConfiguration.load(file: nil, environment: ["RENDITION_MEMORY_CACHE": "lots"])
        }
        #expect(bad?.description.contains("RENDITION_MEMORY_CACHE: expected a byte count such as 32M") == true)
    }
}

@Suite struct RecentRenditionsTests {
    func renderedThumbnail(
        configure: (inout ServiceSettings) -> Void
    ) async throws -> (RenditionService, RenditionAddress, MemoryStore) {
        let source = MemoryStore()
        let renditions = MemoryStore()
        try await source.put(
            try ObjectKey("a.jpg"), try Fixtures.jpeg(Fixtures.photo(width: 800, height: 600)),
            options: PutOptions(contentType: "image/jpeg"))
        let service = try makeService(source: source, renditions: renditions, configure: configure)
        let address = try service.address(preset: "thumbnail", key: "a.jpg")
        guard case .rendered = try await service.render(address) else {
            Issue.record("expected a render")
            throw CancellationError()
        }
        return (service, address, renditions)
    }

    @Test func theFetchesAfterARenderDoNotAskTheStore() async throws {
        let (service, address, renditions) = try await renderedThumbnail { $0.memoryCacheValidity = .seconds(3600) }
        let reads = renditions.readCount
        for _ in 0..<5 {
            let object = try #require(try await service.rendition(address))
            #expect(try object.metadata.contentType == "image/webp" && Fixtures.decode(object.body).width == 400)
        }
        #expect(try await service.renditionMetadata(address)?.contentType == "image/webp")
        #expect(renditions.readCount == reads, "served from memory")
        try await service.shutdown()
    }

    @Test func aPurgeShowsOnceTheMemoryCopyIsNoLongerValid() async throws {
        let (service, address, renditions) = try await renderedThumbnail { $0.memoryCacheValidity = .zero }
        #expect(try await service.rendition(address) != nil)
        _ = try await renditions.delete([address.renditionKey])
        #expect(try await service.rendition(address) == nil, "a miss, so the client is sent to render again")
        #expect(try await service.renditionMetadata(address) == nil)
        try await service.shutdown()
    }

    @Test func turnedOffItAlwaysAsksTheStore() async throws {
        let (service, address, renditions) = try await renderedThumbnail { $0.memoryCacheBytes = 0 }
        let reads = renditions.readCount
        _ = try await service.rendition(address)
        _ = try await service.rendition(address)
        #expect(renditions.readCount == reads + 2)
        try await service.shutdown()
    }

    /// How the render route stores a rendition of `address`'s plan (a current one, not stale).
    func current(_ address: RenditionAddress) -> PutOptions {
        PutOptions(
            contentType: "image/webp", userMetadata: [RenditionMetadataKey.fingerprint: address.plan.fingerprint])
    }

    @Test func theBudgetBoundsTheBytesAndTheOldestGoFirst() async throws {
        let store = MemoryStore()
        var settings = ServiceSettings()
        settings.workers = 1
        settings.memoryCacheBytes = 8_000  // objects up to 1,000 bytes are kept
        settings.memoryCacheValidity = .seconds(3600)
        let service = try RenditionService(plans: shippedPlans, source: store, renditions: store, settings: settings)
        var addresses: [RenditionAddress] = []
        for index in 0..<20 {
            let address = try service.address(preset: "thumbnail", key: "k\(index).jpg")
            try await store.put(
                address.renditionKey, [UInt8](repeating: UInt8(index), count: 900), options: current(address))
            _ = try await service.rendition(address)
            addresses.append(address)
        }
        let large = try service.address(preset: "thumbnail", key: "large.jpg")
        try await store.put(large.renditionKey, [UInt8](repeating: 1, count: 1_001), options: current(large))
        _ = try await service.rendition(large)

        var reads = store.readCount
        _ = try await service.rendition(addresses[19])
        _ = try await service.rendition(addresses[12])
        #expect(store.readCount == reads, "the newest eight are in memory")
        _ = try await service.rendition(addresses[0])
        #expect(store.readCount == reads + 1, "the oldest went out")
        reads = store.readCount
        _ = try await service.rendition(large)
        #expect(store.readCount == reads + 1, "an object over an eighth of the budget is never kept")
        try await service.shutdown()
    }
}
