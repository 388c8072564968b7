import Foundation
import ObjectStorage
import RenditionService
import TestSupport
import Testing

/// The purge contract, in the optimized build `make test` runs: a key purge selects every form folder's rendition
/// of the key and nothing else, the same set every time, whatever the page size and however many forms there are.
@Suite struct PurgeContractTests {
    static let key = "users/7/me.jpg"

    /// A rendition store in a fresh folder: the store the server uses by default.
    static func folderStore() throws -> (FileSystemStore, URL) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("purge-\(UUID().uuidString)")
        return (try FileSystemStore(root: root), root)
    }

    /// Puts a small object at each of `keys`.
    static func seed(_ store: any ObjectStore, _ keys: [String]) async throws {
        for key in keys {
            try await store.put(try ObjectKey(key), [1, 2, 3], options: PutOptions(contentType: "image/webp"))
        }
    }

    /// The original's neighbours, which a purge of ``key`` must leave: a longer key, another user, a key that
    /// only starts the same, and a file beside the form folders.
    static let neighbours = [
        "thumbnail/users/7/me.jpg.bak", "thumbnail/users/70/me.jpg", "card@avif/users/7/me", "avatar/users/7/you.jpg",
        "users/7/me.jpg",
    ]

    /// Far more form folders than the purge examines at once (16): every one is found, none twice.
    @Test func aKeyPurgeOfAThousandFormsIsExactEveryTime() async throws {
        let (renditions, root) = try Self.folderStore()
        defer { try? FileManager.default.removeItem(at: root) }
        let forms = (1...1000).map { "card@\($0)w@\(["avif", "webp", "jpeg"][$0 % 3])" }
        let expected = forms.map { "\($0)/\(Self.key)" }
        try await Self.seed(renditions, expected + Self.neighbours)
        let purger = Purger(plans: shippedPlans, source: MemoryStore(), renditions: renditions)

        for _ in 0..<5 {
            let dry = await purger.run(.key(try ObjectKey(Self.key)), dryRun: true)
            #expect(dry.succeeded && dry.examined == 1004, "the 1000 forms and the neighbours' four folders")
            #expect(dry.purged.map(\.key.rawValue).sorted() == expected.sorted())
        }
        let real = await purger.run(.key(try ObjectKey(Self.key)), dryRun: false)
        #expect(real.succeeded && real.purged.map(\.key.rawValue).sorted() == expected.sorted())
        #expect(try await renditions.list(prefix: "", limit: 2000).map(\.rawValue) == Self.neighbours.sorted())
        let again = await purger.run(.key(try ObjectKey(Self.key)), dryRun: false)
        #expect(again.succeeded && again.purged.isEmpty)
    }

    /// Pages of one, two and three entries end inside `card`'s form folders and between a preset and the one
    /// whose name it starts (`card`, `cards`): no rendition is skipped or listed twice, by any selector.
    @Test(arguments: [1, 2, 3]) func pagesEndingInsideAPresetsFormsSkipNothing(pageSize: Int) async throws {
        let (folder, root) = try Self.folderStore()
        defer { try? FileManager.default.removeItem(at: root) }
        let forms = ["card@avif", "card@webp", "card@2x@jpeg", "card@200w@avif", "cards", "thumbnail", "avatar"]
        let selected = forms.map { "\($0)/\(Self.key)" }
        for renditions in [folder, MemoryStore()] as [any ObjectStore] {
            try await Self.seed(renditions, selected + Self.neighbours)
            var purger = Purger(plans: shippedPlans, source: MemoryStore(), renditions: renditions)
            purger.pageSize = pageSize

            let byKey = await purger.run(.key(try ObjectKey(Self.key)), dryRun: true)
            #expect(byKey.purged.map(\.key.rawValue).sorted() == selected.sorted(), "\(type(of: renditions))")
            let all = await purger.run(.all, dryRun: true)
            #expect(all.purged.map(\.key.rawValue).sorted() == (selected + Self.neighbours).sorted())
            let card = await purger.run(.preset("card"), dryRun: true)
            #expect(
                card.purged.map(\.key.rawValue).sorted()
                    == (selected.filter { $0.hasPrefix("card@") } + ["card@avif/users/7/me"]).sorted())
            // None of the seeded objects has a fingerprint: every one is stale.
            let stale = await purger.run(.stale, dryRun: true)
            #expect(stale.purged.map(\.key.rawValue).sorted() == (selected + Self.neighbours).sorted())

            let purged = await purger.run(.key(try ObjectKey(Self.key)), dryRun: false)
            #expect(purged.succeeded && purged.purged.count == selected.count)
            #expect(try await renditions.list(prefix: "", limit: 100).map(\.rawValue) == Self.neighbours.sorted())
        }
    }

    /// A key no rendition has: nothing selected, nothing deleted, and a success.
    @Test func aKeyWithNoRenditionsPurgesNothing() async throws {
        let renditions = MemoryStore()
        try await Self.seed(renditions, Self.neighbours)
        let purger = Purger(plans: shippedPlans, source: MemoryStore(), renditions: renditions)
        let report = await purger.run(.key(try ObjectKey("users/8/none.jpg")), dryRun: false)
        #expect(report.succeeded && report.purged.isEmpty && report.failures.isEmpty)
        #expect(try await renditions.list(prefix: "", limit: 100).map(\.rawValue) == Self.neighbours.sorted())
    }
}
