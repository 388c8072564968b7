import Foundation
import ObjectStorage
import Testing

@Suite struct ListingTests {
    @Test func folderStoreListsFilesInByteOrderWithinTheRootOnly() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "rendition-list-\(UUID().uuidString)")
        let outside = FileManager.default.temporaryDirectory.appendingPathComponent(
            "rendition-out-\(UUID().uuidString)")
        defer {
            try? FileManager.default.removeItem(at: folder)
            try? FileManager.default.removeItem(at: outside)
        }
        let store = try FileSystemStore(root: folder)
        for key in ["b/2.jpg", "a.jpg", "b/1.jpg", "<img src=x onerror=alert(1)>.jpg", "Z.jpg"] {
            try await store.put(try ObjectKey(key), [1, 2, 3], options: PutOptions(contentType: "image/jpeg"))
        }
        // Hidden files, the store's own sidecars and a link leading out are not originals.
        try Data([1]).write(to: folder.appendingPathComponent(".DS_Store"))
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        try Data([1]).write(to: outside.appendingPathComponent("secret.jpg"))
        try FileManager.default.createSymbolicLink(
            at: folder.appendingPathComponent("link"), withDestinationURL: outside)
        try FileManager.default.createSymbolicLink(
            at: folder.appendingPathComponent("file-link.jpg"),
            withDestinationURL: outside.appendingPathComponent("secret.jpg"))

        let all = try await store.list(prefix: "", limit: 100).map(\.rawValue)
        #expect(all == ["<img src=x onerror=alert(1)>.jpg", "Z.jpg", "a.jpg", "b/1.jpg", "b/2.jpg"])
        #expect(try await store.list(prefix: "b/", limit: 1).map(\.rawValue) == ["b/1.jpg"])
        #expect(try await store.list(prefix: "", limit: 0).isEmpty)
    }

    @Test func memoryStoreListsTheSameWay() async throws {
        let store = MemoryStore()
        for key in ["b", "a/x", "ä", "B"] {
            try await store.put(try ObjectKey(key), [1], options: PutOptions(contentType: "image/jpeg"))
        }
        #expect(try await store.list(prefix: "", limit: 10).map(\.rawValue) == ["B", "a/x", "b", "ä"])
        #expect(try await store.list(prefix: "a", limit: 10).map(\.rawValue) == ["a/x"])
    }

    /// Pages, folders and continuations exactly as S3 answers them, in both stores that list in-process.
    @Test func pagesAndFoldersAreTheSameInBothStores() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "rendition-pages-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let keys = [
            "avatar/users/1.jpg", "avatar/users/2.jpg", "thumbnail/users/1.jpg", "thumbnail/users/2.jpg",
            "thumbnail/x.jpg", "top.jpg",
        ]
        let stores: [any ObjectStore] = [try FileSystemStore(root: folder), MemoryStore()]
        for store in stores {
            for key in keys.reversed() {
                try await store.put(try ObjectKey(key), [1, 2], options: PutOptions(contentType: "image/jpeg"))
            }
            var seen: [String] = []
            var continuation: String?
            var pages = 0
            repeat {
                let page = try await store.listPage(prefix: "", delimiter: nil, continuation: continuation, limit: 4)
                #expect(page.objects.count <= 4 && page.objects.allSatisfy { $0.size == 2 })
                seen += page.objects.map(\.key.rawValue)
                continuation = page.continuation
                pages += 1
            } while continuation != nil
            #expect(seen == keys && pages == 2, "\(store)")

            let top = try await store.listPage(prefix: "", delimiter: "/", continuation: nil, limit: 10)
            #expect(top.folders == ["avatar/", "thumbnail/"] && top.objects.map(\.key.rawValue) == ["top.jpg"])
            let first = try await store.listPage(prefix: "", delimiter: "/", continuation: nil, limit: 1)
            #expect(first.folders == ["avatar/"] && first.continuation == "avatar/")
            let rest = try await store.listPage(prefix: "", delimiter: "/", continuation: "avatar/", limit: 10)
            #expect(rest.folders == ["thumbnail/"] && rest.continuation == nil)
            let inside = try await store.listPage(prefix: "thumbnail/", delimiter: "/", continuation: nil, limit: 10)
            #expect(inside.folders == ["thumbnail/users/"] && inside.objects.map(\.key.rawValue) == ["thumbnail/x.jpg"])
            #expect(
                try await store.listPage(prefix: "nothing/", delimiter: nil, continuation: nil, limit: 10).objects
                    .isEmpty)
        }
    }

    @Test func folderStoreDeletesTheFileAndItsMetadataAndNothingElse() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "rendition-delete-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try FileSystemStore(root: folder)
        let gone = try ObjectKey("thumbnail/users/42/me.jpg")
        let kept = try ObjectKey("thumbnail/users/43/me.jpg")
        for key in [gone, kept] {
            try await store.put(key, [9], options: PutOptions(contentType: "image/webp", userMetadata: ["a": "b"]))
        }
        let failures = try await store.delete([gone, try ObjectKey("never/there.jpg")])
        #expect(failures.isEmpty, "a missing key is deleted already, as in S3")
        #expect(try await store.head(gone) == nil)
        #expect(
            !FileManager.default.fileExists(
                atPath: folder.appendingPathComponent(".rendition/meta/thumbnail/users/42/me.jpg.json").path))
        #expect(try await store.head(kept)?.userMetadata == ["a": "b"])
        // Stored again after a delete: a fresh object with its own metadata, not the old sidecar's.
        try await store.put(gone, [7], options: PutOptions(contentType: "image/png"))
        #expect(try await store.head(gone)?.contentType == "image/png")

        let refused = try await store.delete([try ObjectKey(".rendition/meta/thumbnail/users/43/me.jpg.json")])
        #expect(refused.map(\.error.code) == [.invalidKey], "the store's own folder is not an object")
        #expect(try await store.head(kept) != nil)
    }
}
