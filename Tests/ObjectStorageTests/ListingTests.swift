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
}
