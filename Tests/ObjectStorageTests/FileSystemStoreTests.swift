import Foundation
import ObjectStorage
import Testing

@Suite struct ObjectKeyTests {
    @Test(arguments: [
        "a.jpg", "users/42/me.jpg", "deep/ly/nested/key with spaces+plus~tilde%.jpg", "ünïcødé/фото.jpg", "..hidden/x",
        "a..b",
    ])
    func acceptsOrdinaryKeys(key: String) throws {
        #expect(try ObjectKey(key).rawValue == key)
    }

    @Test(arguments: [
        ("", "empty"), ("/etc/passwd", "absolute"), ("../secret", "'..'"), ("a/../../b", "'..'"), ("a/./b", "'.'"),
        ("a\\..\\b", "backslash"), ("a\u{0}b", "control"),
        (String(repeating: "k", count: 1025), "longer than 1024"),
    ])
    func refusesEscapes(key: String, reason: String) {
        let error = #expect(throws: StorageError.self) { try ObjectKey(key) }
        #expect(error?.code == .invalidKey)
        #expect(error?.message.contains(reason) == true, "\(String(describing: error))")
    }
}

@Suite struct FileSystemStoreTests {
    let folder: URL
    let store: FileSystemStore

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("rendition-fs-\(UUID().uuidString)")
        store = try FileSystemStore(root: folder)
    }

    @Test func putThenGetKeepsBytesAndHeaders() async throws {
        let key = try ObjectKey("thumbnail/users/42/me.jpg")
        let body = [UInt8]((0..<5000).map { UInt8($0 % 251) })
        let put = try await store.put(
            key, body,
            options: PutOptions(contentType: "image/webp", cacheControl: "public, max-age=60", userMetadata: ["a": "b"])
        )
        let object = try #require(try await store.get(key, maxBytes: 10_000))
        #expect(object.body == body)
        #expect(object.metadata.contentType == "image/webp" && object.metadata.cacheControl == "public, max-age=60")
        #expect(object.metadata.etag == put.etag && object.metadata.etag.hasPrefix("\""))
        #expect(object.metadata.userMetadata == ["a": "b"])
        #expect(try await store.head(key)?.size == 5000)
        #expect(try await store.head(try ObjectKey("thumbnail/users/42/other.jpg")) == nil)
    }

    /// A reader between a replacing put's two renames finds the new sidecar beside the old body: it must not
    /// serve the old bytes under the new ETag and fingerprint (a CDN would keep them as current).
    @Test func theOldBodyIsNeverReadWithTheNewMetadata() async throws {
        let key = try ObjectKey("thumbnail/users/42/me.jpg")
        let body = folder.appendingPathComponent(key.rawValue).path
        let aside = folder.appendingPathComponent("old-body").path
        try await store.put(
            key, [UInt8](repeating: 1, count: 100),
            options: PutOptions(contentType: "image/webp", userMetadata: ["v": "1"]))
        #expect(link(body, aside) == 0)
        let new = try await store.put(
            key, [UInt8](repeating: 2, count: 100),
            options: PutOptions(contentType: "image/webp", userMetadata: ["v": "2"]))
        #expect(try await store.head(key)?.userMetadata == ["v": "2"])
        #expect(rename(aside, body) == 0, "the old body back in place under the new sidecar")

        let object = try #require(try await FileSystemStore(root: folder).get(key, maxBytes: 1000))
        #expect(object.body == [UInt8](repeating: 1, count: 100))
        #expect(object.metadata.etag != new.etag && object.metadata.userMetadata.isEmpty, "read as put by hand")
        #expect(try await store.head(key)?.userMetadata.isEmpty == true, "the cached pair is not reused either")
    }

    /// Sidecars written before they named their body's version are still trusted.
    @Test func anOlderSidecarWithoutTheBodysVersionIsRead() async throws {
        let key = try ObjectKey("thumbnail/a.jpg")
        try FileManager.default.createDirectory(
            at: folder.appendingPathComponent("thumbnail"), withIntermediateDirectories: true)
        try Data([1, 2, 3]).write(to: folder.appendingPathComponent(key.rawValue))
        try FileManager.default.createDirectory(
            at: folder.appendingPathComponent(".rendition/meta/thumbnail"), withIntermediateDirectories: true)
        try Data(#"{"contentType":"image/webp","etag":"\"abc\"","userMetadata":{"v":"1"}}"#.utf8).write(
            to: folder.appendingPathComponent(".rendition/meta/thumbnail/a.jpg.json"))
        let metadata = try #require(try await store.head(key))
        #expect(metadata.etag == "\"abc\"" && metadata.userMetadata == ["v": "1"])
    }

    @Test func filesPutByHandGetAGuessedTypeAndAnETag() async throws {
        let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0] + [UInt8](repeating: 1, count: 100)
        try FileManager.default.createDirectory(
            at: folder.appendingPathComponent("photos"), withIntermediateDirectories: true)
        try Data(jpeg).write(to: folder.appendingPathComponent("photos/cat.jpg"))
        let object = try #require(try await store.get(try ObjectKey("photos/cat.jpg"), maxBytes: 1000))
        #expect(object.metadata.contentType == "image/jpeg" && object.metadata.cacheControl == nil)
        #expect(object.metadata.etag.count > 4)
    }

    @Test func sizeCapIsCheckedBeforeReading() async throws {
        let key = try ObjectKey("big.bin")
        try await store.put(
            key, [UInt8](repeating: 0, count: 2048), options: PutOptions(contentType: "application/octet-stream"))
        let error = await #expect(throws: StorageError.self) { try await store.get(key, maxBytes: 1024) }
        #expect(error?.code == .tooLarge)
    }

    @Test func createOnlyRefusesAnExistingObject() async throws {
        let key = try ObjectKey("once.txt")
        try await store.put(key, [1], options: PutOptions(contentType: "text/plain", createOnly: true))
        let error = await #expect(throws: StorageError.self) {
            try await store.put(key, [2], options: PutOptions(contentType: "text/plain", createOnly: true))
        }
        #expect(error?.code == .alreadyExists)
        #expect(try await store.get(key, maxBytes: 10)?.body == [1])
    }

    @Test func concurrentCreateOnlyPutsStoreExactlyOne() async throws {
        let key = try ObjectKey("race/one.bin")
        let results = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<32 {
                group.addTask {
                    (try? await store.put(
                        key, [UInt8](repeating: UInt8(index), count: 10_000),
                        options: PutOptions(contentType: "x/y", createOnly: true))) != nil
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.filter { $0 }.count == 1)
        let body = try #require(try await store.get(key, maxBytes: 20_000)?.body)
        #expect(body.count == 10_000 && Set(body).count == 1, "one whole object, not a mix")
    }

    @Test func symlinkEscapesAreRefused() async throws {
        let outside = FileManager.default.temporaryDirectory.appendingPathComponent(
            "rendition-outside-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        try Data("secret".utf8).write(to: outside.appendingPathComponent("secret.txt"))
        try FileManager.default.createSymbolicLink(
            at: folder.appendingPathComponent("escape"), withDestinationURL: outside)
        let read = await #expect(throws: StorageError.self) {
            try await store.get(try ObjectKey("escape/secret.txt"), maxBytes: 100)
        }
        #expect(read?.code == .invalidKey)
        let write = await #expect(throws: StorageError.self) {
            try await store.put(try ObjectKey("escape/new.txt"), [1], options: PutOptions(contentType: "text/plain"))
        }
        #expect(write?.code == .invalidKey)
        #expect(!FileManager.default.fileExists(atPath: outside.appendingPathComponent("new.txt").path))
    }

    @Test func aMissUnderAnEscapingLinkIsRefusedNotMissed() async throws {
        let outside = FileManager.default.temporaryDirectory.appendingPathComponent(
            "rendition-outside-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            at: folder.appendingPathComponent("escape"), withDestinationURL: outside)
        let error = await #expect(throws: StorageError.self) {
            try await store.get(try ObjectKey("escape/absent.txt"), maxBytes: 100)
        }
        #expect(error?.code == .invalidKey, "whether a file exists outside the root is not told")
    }

    @Test func aLinkedFileLeadingOutsideIsRefused() async throws {
        let outside = FileManager.default.temporaryDirectory.appendingPathComponent(
            "rendition-outside-\(UUID().uuidString).txt")
        try Data("secret".utf8).write(to: outside)
        try FileManager.default.createSymbolicLink(
            at: folder.appendingPathComponent("linked.txt"), withDestinationURL: outside)
        for read in [
            { try await store.get(try ObjectKey("linked.txt"), maxBytes: 100)?.body },
            {
                try await store.head(try ObjectKey("linked.txt")).map { _ in [] }
            },
        ] {
            let error = await #expect(throws: StorageError.self) { _ = try await read() }
            #expect(error?.code == .invalidKey)
        }
    }

    @Test func aReplacedObjectIsReadWithItsNewMetadata() async throws {
        let key = try ObjectKey("replaced.bin")
        try await store.put(key, [1, 2, 3], options: PutOptions(contentType: "image/webp", cacheControl: "max-age=1"))
        #expect(try await store.get(key, maxBytes: 10)?.metadata.contentType == "image/webp", "cached now")
        let second = try await store.put(key, [4, 5], options: PutOptions(contentType: "image/jpeg"))
        let object = try #require(try await store.get(key, maxBytes: 10))
        #expect(object.body == [4, 5] && object.metadata.contentType == "image/jpeg")
        #expect(object.metadata.cacheControl == nil && object.metadata.etag == second.etag)
        #expect(try await store.head(key)?.size == 2)
    }

    @Test func aFifoIsNotAnObjectAndDoesNotHang() async throws {
        let path = folder.appendingPathComponent("pipe").path
        #expect(mkfifo(path, 0o644) == 0)
        #expect(try await store.get(try ObjectKey("pipe"), maxBytes: 100) == nil)
        #expect(try await store.head(try ObjectKey("pipe")) == nil)
    }

    @Test func emptySegmentsAreValidKeysButNotFiles() async throws {
        let key = try ObjectKey("a//b.jpg")
        let error = await #expect(throws: StorageError.self) {
            try await store.put(key, [1], options: PutOptions(contentType: "x/y"))
        }
        #expect(error?.code == .invalidKey)
    }

    @Test func theStoresOwnFolderIsNotAKey() async throws {
        let error = await #expect(throws: StorageError.self) {
            try await store.get(try ObjectKey(".rendition/meta/x.json"), maxBytes: 100)
        }
        #expect(error?.code == .invalidKey)
    }

    @Test func noTemporaryFilesAreLeftBehind() async throws {
        for index in 0..<5 {
            try await store.put(try ObjectKey("k\(index)"), [UInt8(index)], options: PutOptions(contentType: "x/y"))
        }
        let leftovers = try FileManager.default.contentsOfDirectory(
            atPath: folder.appendingPathComponent(".rendition/tmp").path)
        #expect(leftovers.isEmpty)
    }

    @Test func readiness() async throws {
        try await store.checkReachable()
    }
}
