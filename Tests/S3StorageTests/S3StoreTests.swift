import AsyncHTTPClient
import Foundation
import ObjectStorage
import S3Storage
import TestSupport
import Testing

/// The render function's user in moto (its permissions are the template's).
var testCredentials: AWSCredentials {
    get throws {
        let user = try Moto.shared.get().function
        return AWSCredentials(accessKeyID: user.id, secretAccessKey: user.secret)
    }
}

/// A store on a fresh moto bucket, with a client shut down at the end of the test.
@discardableResult
func withStore<T>(
    endpoint: String? = nil, bucket: String? = nil, prefix: String = "", policy: S3RetryPolicy = S3RetryPolicy(),
    _ body: (S3Store, String) async throws -> T
) async throws -> T {
    let bucket = try bucket ?? Moto.makeBucket()
    let credentials = try testCredentials
    let client = S3Store.makeHTTPClient(policy: policy)
    let store = S3Store(
        location: S3Location(
            bucket: bucket, prefix: prefix, region: "us-east-1", endpoint: try endpoint ?? Moto.endpoint,
            addressing: .path),
        credentials: credentials, client: client, policy: policy)
    do {
        let result = try await body(store, bucket)
        try await client.shutdown()
        return result
    } catch {
        try? await client.shutdown()
        throw error
    }
}

/// Runs the fault proxy in front of moto in `mode`.

@Suite struct S3LocationTests {
    @Test func pathAndVirtualHostedURLs() {
        let path = S3Location(
            bucket: "b", prefix: "p/", region: "eu-west-3", endpoint: "http://127.0.0.1:9000", addressing: .path)
        #expect(path.url(for: "p/a b/ü+~%.jpg").url == "http://127.0.0.1:9000/b/p/a%20b/%C3%BC%2B~%25.jpg")
        let virtual = S3Location(bucket: "b", region: "eu-west-3")
        #expect(virtual.url(for: "x//y.jpg").url == "https://b.s3.eu-west-3.amazonaws.com/x//y.jpg")
        #expect(virtual.url(for: "").url == "https://b.s3.eu-west-3.amazonaws.com/")
    }

    @Test func credentialsFromTheEnvironment() {
        #expect(AWSCredentials.fromEnvironment([:]) == nil)
        let found = AWSCredentials.fromEnvironment([
            "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b", "AWS_SESSION_TOKEN": "c",
        ])
        #expect(found == AWSCredentials(accessKeyID: "a", secretAccessKey: "b", sessionToken: "c"))
    }
}

@Suite(.serialized) struct S3StoreTests {
    @Test func putGetHeadAgainstMoto() async throws {
        try await withStore(prefix: "renditions") { store, bucket in
            let key = try ObjectKey("thumbnail/users/42/me.jpg")
            #expect(try await store.get(key, maxBytes: 100) == nil)
            #expect(try await store.head(key) == nil)
            let body = [UInt8]((0..<3000).map { UInt8($0 % 256) })
            try await store.put(
                key, body,
                options: PutOptions(
                    contentType: "image/webp", cacheControl: "public, max-age=60", userMetadata: ["fingerprint": "abc"])
            )
            let object = try #require(try await store.get(key, maxBytes: 10_000))
            #expect(object.body == body)
            #expect(object.metadata.contentType == "image/webp" && object.metadata.cacheControl == "public, max-age=60")
            #expect(object.metadata.userMetadata["fingerprint"] == "abc")
            #expect(try await store.head(key)?.size == 3000)
            try await store.checkReachable()

            // An independent client sees the same object, headers included, under the prefix.
            let seen = try Moto.boto3(
                """
                o = s3.get_object(Bucket="\(bucket)", Key="renditions/thumbnail/users/42/me.jpg")
                print(json.dumps({"type": o["ContentType"], "cache": o["CacheControl"], "meta": o["Metadata"], "sha": hashlib.sha256(o["Body"].read()).hexdigest()}))
                """)
            #expect(seen.contains("\"type\": \"image/webp\"") && seen.contains("\"cache\": \"public, max-age=60\""))
            #expect(seen.contains("\"fingerprint\": \"abc\"") && seen.contains(SigV4Signer.payloadHash(body)))
        }
    }

    /// Through moto with authentication on: a key with a space once failed on AWS (its path was encoded twice
    /// for the signature), and only an authenticating S3 shows that.
    @Test func keysExercisingEveryEncodingRuleRoundTrip() async throws {
        try await roundTrip([
            "a b.jpg", "plus+sign.jpg", "tilde~x.jpg", "percent%25%.jpg", "ünïcødé/日本/😀.jpg", "double//slash.jpg",
            "sub-delims!$&'()*,;=:@.jpg", "trailing/", "folder with spaces/x y.jpg",
        ])
    }

    func roundTrip(_ keys: [String]) async throws {
        try await withStore { store, bucket in
            for (index, raw) in keys.enumerated() {
                let key = try ObjectKey(raw)
                try await store.put(key, [UInt8(index)], options: PutOptions(contentType: "x/y"))
                #expect(try await store.get(key, maxBytes: 10)?.body == [UInt8(index)], "\(raw)")
                #expect(try await store.head(key)?.size == 1, "\(raw)")
            }
            let listed = try Moto.boto3(
                "print(json.dumps(sorted(o[\"Key\"] for o in s3.list_objects_v2(Bucket=\"\(bucket)\")[\"Contents\"])))")
            let names = try #require(try JSONSerialization.jsonObject(with: Data(listed.utf8)) as? [String])
            #expect(names == keys.sorted(), "S3 holds exactly the keys, not an encoding of them")
            #expect(try await store.list(prefix: "", limit: 100).map(\.rawValue) == keys.sorted())
        }
    }

    /// `ListObjectsV2` pages, folders and continuation tokens under a prefix, and `DeleteObjects` with a
    /// missing key (deleted already, as S3 says).
    @Test func listsInPagesAndDeletesInBatches() async throws {
        try await withStore(prefix: "renditions") { store, bucket in
            let keys = (0..<7).map { "thumbnail/users/\($0)/me.jpg" } + ["avatar/a b.jpg", "top.jpg"]
            for key in keys {
                try await store.put(try ObjectKey(key), [1, 2, 3], options: PutOptions(contentType: "x/y"))
            }
            _ = try Moto.boto3("s3.put_object(Bucket=\"\(bucket)\", Key=\"outside-the-prefix.jpg\", Body=b\"x\")")
            var seen: [ListedObject] = []
            var continuation: String?
            var pages = 0
            repeat {
                let page = try await store.listPage(
                    prefix: "thumbnail/", delimiter: nil, continuation: continuation, limit: 3)
                seen += page.objects
                continuation = page.continuation
                pages += 1
            } while continuation != nil
            #expect(
                pages == 3 && seen.map(\.key.rawValue) == keys.prefix(7).sorted() && seen.allSatisfy { $0.size == 3 })
            let top = try await store.listPage(prefix: "", delimiter: "/", continuation: nil, limit: 10)
            #expect(top.folders == ["avatar/", "thumbnail/"] && top.objects.map(\.key.rawValue) == ["top.jpg"])

            let failures = try await store.delete(seen.map(\.key) + [try ObjectKey("never/there.jpg")])
            #expect(failures.isEmpty)
            #expect(try await store.list(prefix: "", limit: 100).map(\.rawValue) == ["avatar/a b.jpg", "top.jpg"])
        }
    }

    /// A key purge lists the rendition store's folders a page at a time: pages of one folder, ending inside a
    /// preset's form folders (`card@…`, then `cards/`), give every folder once, in order, under a prefix too.
    @Test func foldersOnePageAtATime() async throws {
        try await withStore(prefix: "renditions") { store, _ in
            let folders = ["avatar/", "card@200w@webp/", "card@2x@avif/", "card@avif/", "cards/", "thumbnail/"]
            for folder in folders {
                for key in ["users/7/me.jpg", "users/8/me.jpg"] {
                    try await store.put(try ObjectKey(folder + key), [1], options: PutOptions(contentType: "x/y"))
                }
            }
            for limit in [1, 2, 4] {
                var seen: [String] = []
                var continuation: String?
                repeat {
                    let page = try await store.listPage(
                        prefix: "", delimiter: "/", continuation: continuation, limit: limit)
                    #expect(page.folders.count <= limit && page.objects.isEmpty)
                    seen += page.folders
                    continuation = page.continuation
                } while continuation != nil
                #expect(seen == folders, "pages of \(limit)")
            }
        }
    }

    /// A failed `DeleteObjects` is retried; one that keeps failing reports every key of its batch, and
    /// nothing is claimed deleted.
    @Test func deletesAreRetriedThenReported() async throws {
        let bucket = try Moto.makeBucket()
        let keys = try ["a.jpg", "b.jpg"].map(ObjectKey.init)
        try await withStore(bucket: bucket) { store, _ in
            for key in keys { try await store.put(key, [1], options: PutOptions(contentType: "x/y")) }
        }
        let once = try faultProxy("fail", "1")
        let retried = try await withStore(endpoint: "http://127.0.0.1:\(once.port)", bucket: bucket) { store, _ in
            try await store.delete([keys[0]])
        }
        #expect(retried.isEmpty)
        let always = try faultProxy("fail", "1000")
        try await withStore(endpoint: "http://127.0.0.1:\(always.port)", bucket: bucket) { store, _ in
            let failures = try await store.delete(keys)
            #expect(failures.map(\.key) == keys && failures.allSatisfy { $0.error.code == .unavailable })
        }
        let left = try await withStore(bucket: bucket) { store, _ in
            [try await store.head(keys[0]) != nil, try await store.head(keys[1]) != nil]
        }
        #expect(left == [false, true], "only the retried delete happened")
    }

    @Test func createOnlyPutsRaceToOneWinner() async throws {
        try await withStore { store, _ in
            let key = try ObjectKey("race.bin")
            let wins = await withTaskGroup(of: Bool.self) { group in
                for index in 0..<12 {
                    group.addTask {
                        (try? await store.put(
                            key, [UInt8](repeating: UInt8(index), count: 1000),
                            options: PutOptions(contentType: "x/y", createOnly: true))) != nil
                    }
                }
                return await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
            }
            #expect(wins == 1)
            let error = await #expect(throws: StorageError.self) {
                try await store.put(key, [1], options: PutOptions(contentType: "x/y", createOnly: true))
            }
            #expect(error?.code == .alreadyExists)
        }
    }

    @Test func sizeCapRefusesWithoutReadingEverything() async throws {
        try await withStore { store, _ in
            let key = try ObjectKey("big.bin")
            try await store.put(key, [UInt8](repeating: 7, count: 100_000), options: PutOptions(contentType: "x/y"))
            let error = await #expect(throws: StorageError.self) { try await store.get(key, maxBytes: 1000) }
            #expect(error?.code == .tooLarge)
        }
    }

    @Test func a500ThenA200IsRetriedAndServed() async throws {
        let proxy = try faultProxy("fail", "2")
        try await withStore(endpoint: "http://127.0.0.1:\(proxy.port)") { store, _ in
            try await store.put(try ObjectKey("k.bin"), [1, 2, 3], options: PutOptions(contentType: "x/y"))
            #expect(try await store.get(try ObjectKey("k.bin"), maxBytes: 10)?.body == [1, 2, 3])
        }
    }

    @Test func throttlingIsRetriedToo() async throws {
        let proxy = try faultProxy("slowdown", "2")
        try await withStore(endpoint: "http://127.0.0.1:\(proxy.port)") { store, _ in
            let key = try ObjectKey("none")
            #expect(try await store.head(key) == nil)
        }
    }

    @Test func persistentFailuresGiveUp() async throws {
        let proxy = try faultProxy("fail", "1000")
        try await withStore(endpoint: "http://127.0.0.1:\(proxy.port)") { store, _ in
            let error = await #expect(throws: StorageError.self) {
                try await store.get(try ObjectKey("k"), maxBytes: 10)
            }
            #expect(error?.code == .unavailable)
        }
    }

    @Test func aTruncatedBodyIsRetriedThenRefused() async throws {
        let bucket = try Moto.makeBucket()
        try await withStore(bucket: bucket) { store, _ in
            try await store.put(
                try ObjectKey("whole.bin"), [UInt8](repeating: 9, count: 50_000),
                options: PutOptions(contentType: "x/y"))
        }
        let once = try faultProxy("truncate", "1")
        try await withStore(endpoint: "http://127.0.0.1:\(once.port)", bucket: bucket) { store, _ in
            let key = try ObjectKey("whole.bin")
            #expect(try await store.get(key, maxBytes: 100_000)?.body.count == 50_000, "retried, then whole")
        }
        let always = try faultProxy("truncate", "100")
        try await withStore(endpoint: "http://127.0.0.1:\(always.port)", bucket: bucket) { store, _ in
            let error = await #expect(throws: StorageError.self) {
                try await store.get(try ObjectKey("whole.bin"), maxBytes: 100_000)
            }
            #expect(error?.code == .unavailable, "never a partial body")
        }
    }

    @Test func deniedIsAccessDenied() async throws {
        let proxy = try faultProxy("deny")
        try await withStore(endpoint: "http://127.0.0.1:\(proxy.port)") { store, _ in
            let error = await #expect(throws: StorageError.self) {
                try await store.get(try ObjectKey("k"), maxBytes: 10)
            }
            #expect(error?.code == .accessDenied && error?.message.contains("denied") == true)
        }
    }

    @Test func aDownEndpointFailsFast() async throws {
        let start = ContinuousClock.now
        try await withStore(endpoint: "http://127.0.0.1:\(freePort())", bucket: "nobucket") { store, _ in
            let error = await #expect(throws: StorageError.self) {
                try await store.get(try ObjectKey("k"), maxBytes: 10)
            }
            #expect(error?.code == .unavailable)
        }
        #expect(
            ContinuousClock.now - start < .seconds(30), "refused connections fail without waiting for request timeouts")
    }

    @Test func aSlowEndpointTimesOut() async throws {
        let proxy = try faultProxy("slow", "5")
        var policy = S3RetryPolicy()
        policy.requestTimeout = .milliseconds(500)
        policy.attempts = 2
        try await withStore(endpoint: "http://127.0.0.1:\(proxy.port)", bucket: "any", policy: policy) { store, _ in
            let error = await #expect(throws: StorageError.self) {
                try await store.get(try ObjectKey("k"), maxBytes: 10)
            }
            #expect(error?.code == .timeout)
        }
    }
}

@Suite struct CloudFrontPathTests {
    @Test func pathsAreExactUpToAFewHundredThenWildcardsPerPreset() {
        let few = ["/thumbnail/b.jpg", "/avatar/a.jpg", "/thumbnail/b.jpg"]
        #expect(CloudFrontInvalidator.paths(for: few) == ["/avatar/a.jpg", "/thumbnail/b.jpg"])
        let many = (0..<400).map { "/\($0 % 2 == 0 ? "thumbnail" : "avatar")/users/\($0).jpg" }
        #expect(CloudFrontInvalidator.paths(for: many) == ["/avatar/*", "/thumbnail/*"])
        let spread = (0..<400).map { "/preset\($0 % 20)/\($0).jpg" }
        #expect(CloudFrontInvalidator.paths(for: spread) == ["/*"], "more than 15 wildcards in progress is refused")
        #expect(
            CloudFrontInvalidator.isDistributionID("E2QWRUHAPOMQZL") && !CloudFrontInvalidator.isDistributionID("e2q"))
    }
}
