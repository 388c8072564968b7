import Foundation
import TestSupport
import Testing

/// Two fresh moto buckets and the `RENDITION_*` and `AWS_*` variables of a service on them, as the function's user.
struct S3Stores {
    let originals: String
    let renditions: String
    let environment: [String: String]

    init(renditionsEndpoint: String? = nil) throws {
        originals = try Moto.makeBucket(.originals)
        renditions = try Moto.makeBucket()
        environment = try Moto.serviceEnvironment(
            originals: originals, renditions: renditions, renditionsEndpoint: renditionsEndpoint)
    }

    /// Puts `keys` into `bucket` (as the admin user, 8 at a time) with a one-byte body.
    func seed(_ bucket: String, _ keys: [String]) throws {
        let list = try JSONSerialization.data(withJSONObject: keys, options: .withoutEscapingSlashes)
        try seed(bucket, python: String(decoding: list, as: UTF8.self))
    }

    /// Puts the keys a Python expression lists (a program argument holds at most 128 KiB).
    func seed(_ bucket: String, python list: String) throws {
        _ = try Moto.boto3(
            """
            import concurrent.futures, threading
            local = threading.local()
            def put(key):
                if not hasattr(local, "s3"):
                    local.s3 = session.client("s3", endpoint_url=s3.meta.endpoint_url)
                local.s3.put_object(Bucket="\(bucket)", Key=key, Body=b"x", ContentType="image/webp")
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                list(pool.map(put, \(list)))
            """)
    }
}

/// The paths of every invalidation moto's CloudFront holds, from `moto-api/data.json` (moto's own state): its
/// CloudFront `GET` calls refuse even boto3's signature.
func motoInvalidationPaths() throws -> [[String]] {
    let text = try Moto.boto3(
        "import urllib.request\nprint(urllib.request.urlopen(s3.meta.endpoint_url + '/moto-api/data.json').read().decode())"
    )
    let state = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    let invalidations = (state["cloudfront"] as? [String: Any])?["Invalidation"] as? [[String: Any]] ?? []
    return invalidations.compactMap {
        (($0["invalidation_batch"] as? [String: Any])?["Paths"] as? [String: Any])?["Items"] as? [String]
    }
}

@Suite(.serialized) struct S3PurgeTests {
    @Test func tenThousandRenditionsInBatches() throws {
        let stores = try S3Stores()
        try stores.seed(
            stores.renditions,
            python: "[f\"{'thumbnail' if n % 2 == 0 else 'avatar'}/users/{n}/me.jpg\" for n in range(10000)]")
        try stores.seed(stores.originals, ["users/0/me.jpg"])
        let start = ContinuousClock.now
        let run = try CLI.run(["purge", "--all", "--json"], environment: stores.environment)
        let took = ContinuousClock.now - start
        print("purge --all of 10,000 renditions from moto: \(took)")
        #expect(run.status == 0, "\(run.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect(report["renditions"] as? Int == 10_000 && report["examined"] as? Int == 10_000)
        #expect(report["presets"] as? [String] == ["avatar", "thumbnail"] && report["bytes"] as? Int == 10_000)
        #expect(try Moto.keys(stores.renditions).isEmpty)
        #expect(try Moto.keys(stores.originals) == ["users/0/me.jpg"], "an original is never deleted")
    }

    @Test func byKeyInvalidatesThePathsInCloudFront() throws {
        let stores = try S3Stores()
        try stores.seed(
            stores.renditions,
            [
                "thumbnail/users/42/me and you.jpg", "avatar/users/42/me and you.jpg",
                "retired/users/42/me and you.jpg", "thumbnail/users/43/me.jpg", "thumbnail/users/42/me and you.jpg.bak",
            ])
        let distribution = try Moto.boto3(
            """
            d = cloudfront.create_distribution(DistributionConfig={"CallerReference": "rendition", "Comment": "t",
                "Enabled": True, "Origins": {"Quantity": 1, "Items": [{"Id": "o", "DomainName": "example.com",
                "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "http-only"}}]},
                "DefaultCacheBehavior": {"TargetOriginId": "o", "ViewerProtocolPolicy": "allow-all", "MinTTL": 0,
                "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
                "TrustedSigners": {"Enabled": False, "Quantity": 0}}})
            print(d["Distribution"]["Id"])
            """
        ).trimmingCharacters(in: .whitespacesAndNewlines)
        try stores.seed(stores.originals, ["users/42/me and you.jpg"])
        let before = try motoInvalidationPaths().count
        let run = try CLI.run(
            ["purge", "--key", "users/42/me and you.jpg", "--invalidate-cloudfront", distribution],
            environment: stores.environment.merging(["RENDITION_CLOUDFRONT_ENDPOINT": try Moto.endpoint]) { a, _ in a })
        #expect(run.status == 0, "\(run.stderr)")
        let paths = [
            "/avatar/users/42/me%20and%20you.jpg", "/retired/users/42/me%20and%20you.jpg",
            "/thumbnail/users/42/me%20and%20you.jpg",
        ]
        #expect(run.stdout.split(separator: "\n").prefix(3).map(String.init) == paths)
        #expect(run.stdout.contains("sent to \(distribution) for 3 paths"))
        #expect(try motoInvalidationPaths().dropFirst(before).map { $0.sorted() } == [paths])
        #expect(
            try Moto.keys(stores.renditions) == [
                "thumbnail/users/42/me and you.jpg.bak", "thumbnail/users/43/me.jpg",
            ])
        #expect(try Moto.keys(stores.originals) == ["users/42/me and you.jpg"], "the original itself stays")
    }

    /// A bucket policy that denies deleting some renditions: S3 answers those keys one by one in its
    /// `DeleteObjects` answer, the purge lists each and exits 1, and claims only what is gone.
    @Test func perKeyDeleteErrorsAreReported() throws {
        let stores = try S3Stores()
        try stores.seed(stores.renditions, ["thumbnail/locked/a.jpg", "thumbnail/locked/b.jpg", "thumbnail/free.jpg"])
        _ = try Moto.boto3(
            """
            s3.put_bucket_policy(Bucket="\(stores.renditions)", Policy=json.dumps({"Version": "2012-10-17",
                "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject",
                               "Resource": "arn:aws:s3:::\(stores.renditions)/thumbnail/locked/*"}]}))
            """)
        let run = try CLI.run(["purge", "--preset", "thumbnail"], environment: stores.environment)
        #expect(run.status == 1)
        #expect(run.stdout.split(separator: "\n").first == "/thumbnail/free.jpg")
        #expect(run.stdout.contains("purged 1 rendition of 1 preset") && run.stdout.contains("2 failed"))
        for key in ["thumbnail/locked/a.jpg", "thumbnail/locked/b.jpg"] {
            #expect(run.stderr.contains("failed \(key): access_denied: S3 did not delete \(key) (AccessDenied)"))
        }
        #expect(try Moto.keys(stores.renditions) == ["thumbnail/locked/a.jpg", "thumbnail/locked/b.jpg"])
    }

    /// A listing that fails is retried; one that keeps failing stops the purge, which says so and claims nothing.
    @Test func aListingCutByAFaultIsRetriedThenReported() throws {
        let healthy = try S3Stores()
        try healthy.seed(healthy.renditions, ["thumbnail/a.jpg"])
        let once = try faultProxy("fail", "1")
        let retried = try CLI.run(
            ["purge", "--all"],
            environment: healthy.environment.merging(["RENDITION_RENDITIONS_ENDPOINT": "http://127.0.0.1:\(once.port)"])
            {
                _, new in new
            })
        #expect(retried.status == 0 && retried.stdout.hasPrefix("/thumbnail/a.jpg\npurged 1 rendition"), "\(retried)")

        let broken = try S3Stores()
        try broken.seed(broken.renditions, ["thumbnail/b.jpg"])
        let always = try faultProxy("fail", "1000")
        let failed = try CLI.run(
            ["purge", "--all", "--json"],
            environment: broken.environment.merging(["RENDITION_RENDITIONS_ENDPOINT": "http://127.0.0.1:\(always.port)"]
            ) {
                _, new in new
            })
        #expect(failed.status == 1)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(failed.stdout.utf8)) as? [String: Any])
        #expect((report["listingError"] as? [String: Any])?["code"] as? String == "unavailable")
        #expect(report["renditions"] as? Int == 0)
        #expect(try Moto.keys(broken.renditions) == ["thumbnail/b.jpg"])
    }
}

/// Every object of `bucket` and its ETag.
func etags(_ bucket: String) throws -> [String: String] {
    let listed = try Moto.boto3(
        """
        found = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket="\(bucket)"):
            found.update({o["Key"]: o["ETag"] for o in page.get("Contents", [])})
        print(json.dumps(found))
        """)
    return try #require(try JSONSerialization.jsonObject(with: Data(listed.utf8)) as? [String: String])
}

/// The freshness flow of `PurgeTests` on S3: originals uploaded to moto, renditions made by `rendition serve`.
@Suite(.serialized) struct S3FreshnessTests {
    func upload(_ stores: S3Stores, _ workspace: Workspace, _ key: String, width: Int) throws {
        try workspace.write("upload.jpg", try Fixtures.jpeg(Fixtures.photo(width: width, height: 600)))
        let path = workspace.url.appendingPathComponent("upload.jpg").path
        _ = try Moto.boto3("s3.upload_file(\"\(path)\", \"\(stores.originals)\", \"\(key)\")")
    }

    func rendered(_ stores: S3Stores, presets: [String], originals: [String]) throws -> Workspace {
        let workspace = try Workspace()
        for (index, key) in originals.enumerated() { try upload(stores, workspace, key, width: 900 + 100 * index) }
        let server = try ServeProcess(
            in: workspace.url, environment: ProcessInfo.processInfo.environment.merging(stores.environment) { $1 })
        defer { server.stop() }
        for preset in presets {
            for key in originals {
                #expect(try Curl.get("\(server.base)/_render/\(preset)/\(key)").status == 301, "\(preset)/\(key)")
            }
        }
        return workspace
    }

    func change(_ workspace: Workspace, _ preset: String, quality: Int) throws {
        let file = workspace.url.appendingPathComponent("pipelines/\(preset).yaml")
        let text = try String(contentsOf: file, encoding: .utf8)
        #expect(text.contains("quality: 80"))
        try text.replacingOccurrences(of: "quality: 80", with: "quality: \(quality)").write(
            to: file, atomically: true, encoding: .utf8)
    }

    @Test func aChangedPresetIsRenderedAgainWithoutAPurge() throws {
        let stores = try S3Stores()
        let workspace = try rendered(stores, presets: ["thumbnail"], originals: ["users/42/me.jpg"])
        let before = try etags(stores.renditions)["thumbnail/users/42/me.jpg"]
        try change(workspace, "thumbnail", quality: 50)
        let server = try ServeProcess(
            in: workspace.url, environment: ProcessInfo.processInfo.environment.merging(stores.environment) { $1 })
        defer { server.stop() }
        #expect(try Curl.get("\(server.base)/thumbnail/users/42/me.jpg").status == 307)
        let after = try Curl.get("\(server.base)/thumbnail/users/42/me.jpg", follow: true)
        #expect(after.status == 200 && after.redirects == 2)
        let now = try etags(stores.renditions)["thumbnail/users/42/me.jpg"]
        #expect(before != nil && now != nil && now != before, "new bytes, a new ETag")
    }

    @Test func staleThenKeyRemoveExactlyTheirRenditions() throws {
        let stores = try S3Stores()
        let workspace = try rendered(
            stores, presets: ["thumbnail", "avatar"], originals: ["users/42/me.jpg", "users/43/me.jpg"])
        try change(workspace, "avatar", quality: 70)
        try upload(stores, workspace, "users/43/me.jpg", width: 500)
        let (renditions, originals) = (try etags(stores.renditions), try etags(stores.originals))

        try expectStaleDryRun(in: workspace, environment: stores.environment)
        #expect(try etags(stores.renditions) == renditions, "a dry run changes nothing")

        let stale = try CLI.run(["purge", "--stale"], in: workspace.url, environment: stores.environment)
        #expect(stale.status == 0 && stale.stdout.contains("purged 3 renditions of 2 presets"), "\(stale)")
        #expect(try etags(stores.renditions) == renditions.filter { $0.key == "thumbnail/users/42/me.jpg" })

        let byKey = try CLI.run(
            ["purge", "--key", "users/42/me.jpg"], in: workspace.url, environment: stores.environment)
        #expect(
            byKey.status == 0 && byKey.stdout.hasPrefix("/thumbnail/users/42/me.jpg\npurged 1 rendition of 1 preset"))
        #expect(try etags(stores.renditions).isEmpty)
        #expect(try etags(stores.originals) == originals, "every original is untouched")
    }
}
