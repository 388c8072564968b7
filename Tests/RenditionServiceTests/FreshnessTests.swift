import Foundation
import ObjectStorage
import RenditionCatalog
import RenditionCore
import RenditionService
import TestSupport
import Testing

/// The thumbnail preset with another quality: the same name, another fingerprint.
func changedThumbnail(quality: Int = 60) throws -> PipelinePlan {
    let text = """
        stages:
          - orient: {}
          - resize: {width: 400, height: 400, fit: inside}
          - encode: {format: webp, quality: \(quality)}
        """
    return try PipelineLibrary.planText(text, name: "thumbnail", source: "pipelines/thumbnail.yaml").get()
}

func store(_ store: MemoryStore, _ key: String, _ bytes: [UInt8]) async throws {
    try await store.put(try ObjectKey(key), bytes, options: PutOptions(contentType: "image/jpeg"))
}

@Suite struct FreshnessTests {
    @Test func aRenditionOfAnotherPlanIsAMissAndIsReplaced() async throws {
        let source = MemoryStore()
        let renditions = MemoryStore()
        try await store(source, "a.jpg", try Fixtures.jpeg(Fixtures.photo(width: 800, height: 600)))
        let before = try makeService(source: source, renditions: renditions)
        let old = try before.address(preset: "thumbnail", key: "a.jpg")
        _ = try await before.render(old)
        let oldBytes = try #require(try await renditions.get(old.renditionKey, maxBytes: 1 << 20))

        var plans = shippedPlans
        plans["thumbnail"] = try changedThumbnail()
        let after = try RenditionService(plans: plans, source: source, renditions: renditions)
        let address = try after.address(preset: "thumbnail", key: "a.jpg")
        #expect(try await after.renditionMetadata(address) == nil, "stale: the origin route answers a miss")
        #expect(try await after.rendition(address) == nil)
        guard case .rendered(let metadata, _) = try await after.render(address) else {
            Issue.record("expected the stale rendition to be replaced")
            return
        }
        #expect(metadata.etag != oldBytes.metadata.etag)
        let replaced = try #require(try await after.rendition(address))
        #expect(replaced.body != oldBytes.body)
        #expect(replaced.metadata.userMetadata[RenditionMetadataKey.fingerprint] == plans["thumbnail"]?.fingerprint)
        guard case .existing = try await after.render(address) else {
            Issue.record("a current rendition is not rendered again")
            return
        }
        // A worker (another process) still on the old preset finds the new rendition stale and puts its own
        // back; neither fails on "already exists".
        let oldWorker = try makeService(source: source, renditions: renditions)
        guard case .rendered = try await oldWorker.render(try oldWorker.address(preset: "thumbnail", key: "a.jpg"))
        else {
            Issue.record("expected the old worker to replace a rendition stale for it")
            return
        }
        try await before.shutdown()
        try await after.shutdown()
        try await oldWorker.shutdown()
    }
}

@Suite struct PurgerTests {
    /// Originals a.jpg and b.jpg, each rendered by thumbnail and avatar, plus a rendition of a removed preset.
    func populated() async throws -> (Purger, MemoryStore, MemoryStore) {
        let source = MemoryStore()
        let renditions = MemoryStore()
        for key in ["a.jpg", "users/42/b c.jpg"] {
            try await store(source, key, try Fixtures.jpeg(Fixtures.photo(width: 600, height: 400)))
        }
        let service = try makeService(source: source, renditions: renditions)
        for preset in ["thumbnail", "avatar"] {
            for key in ["a.jpg", "users/42/b c.jpg"] {
                _ = try await service.render(try service.address(preset: preset, key: key))
            }
        }
        try await service.shutdown()
        try await renditions.put(
            try ObjectKey("retired/a.jpg"), [1, 2, 3],
            options: PutOptions(contentType: "image/webp", userMetadata: [RenditionMetadataKey.fingerprint: "x"]))
        var purger = Purger(plans: shippedPlans, source: source, renditions: renditions)
        purger.pageSize = 2
        return (purger, source, renditions)
    }

    func keys(_ store: MemoryStore) async throws -> [String] {
        try await store.list(prefix: "", limit: 100).map(\.rawValue)
    }

    @Test func eachSelectorRemovesExactlyItsRenditions() async throws {
        let (purger, source, renditions) = try await populated()
        let all = try await keys(renditions)

        let dry = await purger.run(.key(try ObjectKey("users/42/b c.jpg")), dryRun: true)
        #expect(dry.purged.map(\.key.rawValue) == ["avatar/users/42/b c.jpg", "thumbnail/users/42/b c.jpg"])
        #expect(try await keys(renditions) == all, "a dry run deletes nothing")

        let byKey = await purger.run(.key(try ObjectKey("users/42/b c.jpg")), dryRun: false)
        #expect(byKey.succeeded && byKey.purged.map(\.key.rawValue) == dry.purged.map(\.key.rawValue))
        #expect(byKey.purged.map(\.publicPath) == ["/avatar/users/42/b%20c.jpg", "/thumbnail/users/42/b%20c.jpg"])
        #expect(try await keys(renditions) == ["avatar/a.jpg", "retired/a.jpg", "thumbnail/a.jpg"])

        let byPreset = await purger.run(.preset("thumbnail"), dryRun: false)
        #expect(byPreset.purged.map(\.key.rawValue) == ["thumbnail/a.jpg"] && byPreset.presets == ["thumbnail"])
        let everything = await purger.run(.all, dryRun: false)
        #expect(everything.purged.count == 2 && everything.bytes > 3)
        #expect(try await keys(renditions).isEmpty)
        #expect(try await keys(source) == ["a.jpg", "users/42/b c.jpg"], "originals are never touched")
    }

    @Test func stalePurgesNameTheirReason() async throws {
        let (purger, source, renditions) = try await populated()
        var plans = shippedPlans
        plans["thumbnail"] = try changedThumbnail()
        var stale = Purger(plans: plans, source: source, renditions: renditions)
        stale.pageSize = 3
        try await store(source, "a.jpg", try Fixtures.jpeg(Fixtures.photo(width: 700, height: 400)))  // replaced
        _ = try await source.delete([try ObjectKey("users/42/b c.jpg")])  // deleted
        _ = purger

        let dry = await stale.run(.stale, dryRun: true)
        let reasons = Dictionary(uniqueKeysWithValues: dry.purged.map { ($0.key.rawValue, $0.reason) })
        #expect(
            reasons == [
                "avatar/a.jpg": "original replaced", "avatar/users/42/b c.jpg": "original deleted",
                "retired/a.jpg": "preset removed", "thumbnail/a.jpg": "preset changed",
                "thumbnail/users/42/b c.jpg": "preset changed",
            ])
        let done = await stale.run(.stale, dryRun: false)
        #expect(done.purged == dry.purged && done.examined == 5)
        #expect(try await keys(renditions).isEmpty)
        #expect(await stale.run(.stale, dryRun: false).purged.isEmpty, "nothing is stale any more")
    }
}

@Suite struct StoreOverlapTests {
    func configuration(_ source: StoreConfiguration, _ renditions: StoreConfiguration) -> RenditionConfiguration {
        var configuration = RenditionConfiguration()
        configuration.source = source
        configuration.renditions = renditions
        return configuration
    }

    func s3(_ bucket: String, _ prefix: String, endpoint: String = "") -> StoreConfiguration {
        var store = StoreConfiguration(path: "")
        store.kind = .s3
        store.bucket = bucket
        store.prefix = prefix
        store.endpoint = endpoint
        return store
    }

    @Test func overlappingStoresAreNamedAndSeparateOnesAreNot() throws {
        #expect(
            RenditionConfiguration().storeOverlap == nil, "the embedded default: data/originals and data/renditions")
        for (source, renditions) in [
            ("data", "data"), ("data", "data/renditions"), ("data/originals/r", "data/originals"),
        ] {
            let overlap = configuration(StoreConfiguration(path: source), StoreConfiguration(path: renditions))
            #expect(overlap.storeOverlap?.contains("one holds the other") == true, "\(source) \(renditions)")
        }
        #expect(
            configuration(StoreConfiguration(path: "data/originals"), StoreConfiguration(path: "data/originals-2"))
                .storeOverlap == nil, "a shared name prefix is not a shared folder")

        for (a, b) in [("", "renditions"), ("originals", ""), ("images", "images/renditions"), ("p", "p")] {
            #expect(configuration(s3("bucket", a), s3("bucket", b)).storeOverlap != nil, "\(a) \(b)")
        }
        #expect(configuration(s3("bucket", "originals"), s3("bucket", "renditions")).storeOverlap == nil)
        #expect(configuration(s3("bucket", "images"), s3("bucket", "images-2")).storeOverlap == nil)
        #expect(configuration(s3("one", ""), s3("two", "")).storeOverlap == nil)
        #expect(
            configuration(s3("bucket", "", endpoint: "http://a:9000"), s3("bucket", "", endpoint: "http://b:9000"))
                .storeOverlap == nil, "the same name on two servers is two buckets")
        #expect(configuration(StoreConfiguration(path: "data"), s3("data", "")).storeOverlap == nil)
    }
}

/// A negotiating preset's renditions live in one folder per form (`card@avif/`, `card@2x@webp/`): purges find
/// them all, and never another preset whose name starts the same.
@Suite struct PurgerFormTests {
    @Test func purgesReachEveryFormAndOnlyThePresetsOwn() async throws {
        let source = MemoryStore()
        let renditions = MemoryStore()
        try await store(source, "a.jpg", try Fixtures.jpeg(Fixtures.photo(width: 600, height: 400)))
        let service = try makeService(source: source, renditions: renditions)
        for segment in ["card@avif", "card@2x@webp", "card@200w@jpeg", "thumbnail"] {
            _ = try await service.render(try service.address(segment: segment, key: "a.jpg"))
        }
        try await service.shutdown()
        let foreign = PutOptions(contentType: "image/webp", userMetadata: [RenditionMetadataKey.fingerprint: "x"])
        try await renditions.put(try ObjectKey("cards/a.jpg"), [1], options: foreign)
        try await renditions.put(try ObjectKey("card@333w@avif/a.jpg"), [1], options: foreign)
        let purger = Purger(plans: shippedPlans, source: source, renditions: renditions)

        let stale = await purger.run(.stale, dryRun: true)
        #expect(
            stale.purged.map { "\($0.key.rawValue) \($0.reason)" } == [
                "card@333w@avif/a.jpg variant removed", "cards/a.jpg preset removed",
            ])
        let byKey = await purger.run(.key(try ObjectKey("a.jpg")), dryRun: true)
        #expect(byKey.purged.count == 6)
        let preset = await purger.run(.preset("card"), dryRun: false)
        #expect(
            Set(preset.purged.map(\.key.rawValue)) == [
                "card@avif/a.jpg", "card@2x@webp/a.jpg", "card@200w@jpeg/a.jpg", "card@333w@avif/a.jpg",
            ])
        #expect(preset.presets == ["card"])
        let left = try await renditions.list(prefix: "", limit: 10).map(\.rawValue)
        #expect(left == ["cards/a.jpg", "thumbnail/a.jpg"])
    }
}
