import Foundation
import ObjectStorage
import PropertyBased
import S3Storage
import TestSupport
import Testing

/// Path segments an attacker would try, mixed with ordinary ones.
let hostileSegments = [
    "..", ".", "", "a", "b.jpg", "%2e%2e", "%2f", "..%2f", "..\\", "\\", "\0", "~", "é", " ", ".rendition", "\u{202E}",
    "😀", "link", "...", ".hidden", "a:b", "C:", "\n", "?x=1", "#frag", "%00", "*", "users",
]

/// Keys built from those segments, sometimes absolute.
let hostileKeys = Gen.element(of: hostileSegments).array(of: 1...6).map { segments in
    segments.map { $0 ?? "" }.joined(separator: "/")
}

@Suite struct KeyPropertyTests {
    /// Whatever the key, a folder store writes inside its root or refuses: nothing appears beside the root,
    /// even through a symbolic link that points out of it.
    @Test func noKeyEscapesTheFolderStore() async throws {
        let sandbox = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString)")
        let root = sandbox.appendingPathComponent("root")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(
            at: sandbox.appendingPathComponent("outside"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            at: root.appendingPathComponent("link"), withDestinationURL: sandbox.appendingPathComponent("outside"))
        defer { try? FileManager.default.removeItem(at: sandbox) }
        let store = try FileSystemStore(root: root)
        let prefix = Gen.bool(0.2).map { $0 ? "/" : "" }
        var accepted = 0
        await propertyCheck(count: 400, input: prefix, hostileKeys) { lead, body in
            let text = lead + body
            guard let key = try? ObjectKey(text) else { return }
            let segments = text.split(separator: "/", omittingEmptySubsequences: false)
            #expect(!segments.contains("..") && !segments.contains(".") && !text.hasPrefix("/"), "\(text)")
            guard (try? await store.put(key, Array("x".utf8), options: PutOptions(contentType: "text/plain"))) != nil
            else { return }
            accepted += 1
            let read = try? await store.get(key, maxBytes: 10)
            #expect(read?.body == Array("x".utf8), "\(text)")
            #expect(!text.hasPrefix("link/"), "\(text) was written through the symbolic link")
        }
        let beside = try FileManager.default.contentsOfDirectory(atPath: sandbox.path).sorted()
        #expect(beside == ["outside", "root"])
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: sandbox.appendingPathComponent("outside").path).isEmpty)
        #expect(accepted > 0, "the generator also makes ordinary keys")
    }

    /// Whatever the key, its S3 URL addresses an object under the configured prefix of the configured
    /// bucket: percent-decoding the path gives back exactly bucket/prefix/key, and no dot segment is left
    /// for a proxy or SDK to normalise away.
    @Test func noKeyLeavesTheS3Prefix() async throws {
        let prefixes = Gen.element(of: ["", "renditions", "a/b", "tenant-1/images"]).map { $0 ?? "" }
        await propertyCheck(count: 500, input: prefixes, hostileKeys) { prefix, text in
            guard let key = try? ObjectKey(text) else { return }
            for addressing in S3Location.Addressing.allCases {
                let location = S3Location(
                    bucket: "bucket", prefix: prefix, endpoint: "http://127.0.0.1:9000", addressing: addressing)
                let path = location.url(for: location.objectPath(key)).path
                let unreserved = CharacterSet(
                    charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~/%")
                #expect(path.unicodeScalars.allSatisfy(unreserved.contains), "\(path)")
                let decoded = try #require(path.removingPercentEncoding, "\(path)")
                let base = addressing == .path ? "/bucket/" : "/"
                #expect(decoded == base + (prefix.isEmpty ? "" : prefix + "/") + text, "\(decoded)")
                let segments = decoded.split(separator: "/", omittingEmptySubsequences: false)
                #expect(!segments.contains("..") && !segments.contains("."), "\(decoded)")
            }
        }
    }
}
