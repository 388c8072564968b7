import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import ObjectStorage
import Prometheus
import RenditionCatalog
import RenditionCore
import RenditionServer
import RenditionService
import TestSupport
import Testing

/// The server over S3 stores on moto (or a fault proxy in front of it), made from configuration. Its
/// stores' HTTP client is shut down when it goes, even when a test stops early.
final class S3Harness: Sendable {
    let configuration: RenditionConfiguration
    let stores: StoreSet
    let service: RenditionService
    let registry = PrometheusCollectorRegistry()
    let sourceBucket: String
    let renditionBucket: String

    init(endpoint: String? = nil, renderTimeout: Duration = .seconds(30), storageTimeout: Duration = .seconds(10))
        throws
    {
        sourceBucket = try Moto.makeBucket(.originals)
        renditionBucket = try Moto.makeBucket()
        var configuration = RenditionConfiguration()
        configuration.source.kind = .s3
        configuration.source.bucket = sourceBucket
        configuration.source.prefix = "originals"
        configuration.source.endpoint = try endpoint ?? Moto.endpoint
        configuration.source.addressing = .path
        configuration.renditions.kind = .s3
        configuration.renditions.bucket = renditionBucket
        configuration.renditions.endpoint = try endpoint ?? Moto.endpoint
        configuration.renditions.addressing = .path
        configuration.service.workers = 2
        configuration.service.renderTimeout = renderTimeout
        configuration.storageTimeout = storageTimeout
        self.configuration = configuration
        stores = try configuration.makeStores(environment: try Moto.functionEnvironment)
        service = try RenditionService(
            plans: shippedPlans, source: stores.source, renditions: stores.renditions, settings: configuration.service,
            metricsFactory: PrometheusMetricsFactory(registry: registry))
    }

    deinit { try? stores.shutdownNow() }

    func upload(_ key: String, _ bytes: [UInt8]) throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("upload-\(UUID().uuidString)")
        try Data(bytes).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        _ = try Moto.boto3(
            "s3.upload_file(\"\(file.path)\", \"\(sourceBucket)\", \"originals/\(key)\", ExtraArgs={\"ContentType\": \"image/jpeg\"})"
        )
    }

    func test(_ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let app = RenditionServer.makeApplication(
            service: service, configuration: configuration, registry: registry, logger: logger)
        do {
            try await app.test(.router, body)
        } catch {
            await stores.shutdown()
            throw error
        }
        await stores.shutdown()
    }
}

@Suite(.serialized) struct S3FlowTests {
    @Test func theWholeFlowWithS3AsBothStores() async throws {
        // moto is shared with the purge tests, whose 10,000-object seeding can hold it for seconds at a time:
        // this test is about the flow, so its deadlines leave room for that rather than time a busy peer.
        let harness = try S3Harness(renderTimeout: .seconds(180), storageTimeout: .seconds(60))
        try harness.upload("users/42/me and you+1.jpg", try Fixtures.jpeg(Fixtures.photo(width: 1600, height: 1200)))
        try await harness.test { client in
            #expect(try await client.execute(uri: "/readyz", method: .get).status == .ok)
            let path = "/thumbnail/users/42/me%20and%20you%2B1.jpg"
            let miss = try await client.execute(uri: path, method: .get)
            #expect(miss.status == .temporaryRedirect)

            // Many concurrent renders of one rendition: one create-only put wins, everyone gets the 301.
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<20 {
                    group.addTask { try await client.execute(uri: "/_render" + path, method: .get).status }
                }
                return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
            }
            #expect(statuses == Array(repeating: .movedPermanently, count: 20))

            let hit = try await client.execute(uri: path, method: .get)
            #expect(hit.status == .ok && hit.headers[.contentType] == "image/webp")
            #expect(hit.headers[.cacheControl] == "public, max-age=1209600")
            #expect(try Fixtures.decode(Array(buffer: hit.body)).width == 400)

            // The studio lists an S3 source (ListObjectsV2 under the source's prefix).
            let studio = String(buffer: try await client.execute(uri: "/studio", method: .get).body)
            #expect(studio.contains("users/42/me and you+1.jpg") && !studio.contains("cannot list"))
        }
        #expect(harness.registry.emitToString().contains("rendition_renders_total 1"))

        // An independent client reads the stored rendition: bytes, Content-Type and Cache-Control.
        let seen = try Moto.boto3(
            """
            o = s3.get_object(Bucket="\(harness.renditionBucket)", Key="thumbnail/users/42/me and you+1.jpg")
            body = o["Body"].read()
            print(json.dumps({"type": o["ContentType"], "cache": o["CacheControl"], "size": len(body), "riff": body[:4].decode()}))
            """)
        #expect(seen.contains("\"type\": \"image/webp\"") && seen.contains("\"cache\": \"public, max-age=1209600\""))
        #expect(seen.contains("\"riff\": \"RIFF\""))
    }

    /// Storage that fails a third of its requests at random (500, SlowDown, closed connections, bodies cut
    /// in half, PUTs stored whose answer is lost, stalls past the request timeout): every answer is a 301
    /// or a storage status, never anything else, and every object in the rendition bucket, read back
    /// with an independent client, is a whole image. Retrying the failures eventually renders them all.
    @Test func chaoticStorageNeverLeavesAPartialRendition() async throws {
        let chaos = try faultProxy("chaos", "0.33")
        let harness = try S3Harness(endpoint: "http://127.0.0.1:\(chaos.port)", storageTimeout: .seconds(1))
        let photo = try Fixtures.jpeg(Fixtures.photo(width: 1200, height: 900))
        let count = 10
        for index in 0..<count { try harness.upload("chaos/\(index).jpg", photo) }
        try await harness.test { client in
            var failed = Set(0..<count)
            var statuses: [HTTPResponse.Status] = []
            for _ in 0..<12 where !failed.isEmpty {
                for index in failed.sorted() {
                    let response = try await client.execute(uri: "/_render/thumbnail/chaos/\(index).jpg", method: .get)
                    statuses.append(response.status)
                    #expect(
                        [.movedPermanently, .badGateway, .gatewayTimeout].contains(response.status),
                        "\(response.status): \(String(buffer: response.body))")
                    #expect(response.headers[.cacheControl] == "no-store")
                    if response.status == .movedPermanently { failed.remove(index) }
                }
            }
            #expect(failed.isEmpty, "still failing after 12 rounds: \(failed.sorted())")
            print(
                "chaos: \(statuses.count) render requests, \(statuses.filter { $0 != .movedPermanently }.count) storage errors"
            )
        }
        // Read every stored object back, past the proxy, with boto3: each decodes to the whole thumbnail.
        let listing = try Moto.boto3(
            """
            out = []
            for item in s3.list_objects_v2(Bucket="\(harness.renditionBucket)").get("Contents", []):
                got = s3.get_object(Bucket="\(harness.renditionBucket)", Key=item["Key"])
                body = got["Body"].read()
                out.append({"key": item["Key"], "type": got["ContentType"], "size": item["Size"], "hex": body.hex()})
            print(json.dumps(out))
            """)
        let objects = try JSONSerialization.jsonObject(with: Data(listing.utf8)) as? [[String: Any]] ?? []
        #expect(objects.count == count)
        for object in objects {
            let key = object["key"] as? String ?? ""
            #expect(object["type"] as? String == "image/webp", "\(key)")
            let hex = Array((object["hex"] as? String ?? "").utf8)
            let bytes = stride(from: 0, to: hex.count - 1, by: 2).map {
                UInt8(String(decoding: hex[$0...$0 + 1], as: UTF8.self), radix: 16)!
            }
            #expect(bytes.count == object["size"] as? Int, "\(key)")
            let image = try Fixtures.decode(bytes)
            #expect(image.width == 400 && image.height == 300, "\(key)")
            #expect(try image.average() > 0, "\(key) decodes in full")
        }
    }

    @Test func storageDeniedIsA502() async throws {
        let deny = try faultProxy("deny")
        let harness = try S3Harness(endpoint: "http://127.0.0.1:\(deny.port)")
        try await harness.test { client in
            let response = try await client.execute(uri: "/_render/thumbnail/a.jpg", method: .get)
            #expect(response.status == .badGateway)
            #expect(String(buffer: response.body).contains("Storage denied access"))
            #expect(try await client.execute(uri: "/readyz", method: .get).status == .serviceUnavailable)
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok, "no crash")
        }
    }

    @Test func aDownEndpointIsAFast502() async throws {
        let harness = try S3Harness(endpoint: "http://127.0.0.1:\(freePort())")
        try await harness.test { client in
            let start = ContinuousClock.now
            let response = try await client.execute(uri: "/thumbnail/a.jpg", method: .get)
            #expect(response.status == .badGateway)
            #expect(
                ContinuousClock.now - start < .seconds(30),
                "refused connections fail without waiting for request timeouts")
        }
    }

    @Test func aSlowEndpointIsA504() async throws {
        let slow = try faultProxy("slow", "60")
        let harness = try S3Harness(endpoint: "http://127.0.0.1:\(slow.port)", storageTimeout: .seconds(1))
        try await harness.test { client in
            let response = try await client.execute(uri: "/_render/thumbnail/a.jpg", method: .get)
            #expect(response.status == .gatewayTimeout, "\(String(buffer: response.body))")
        }
    }
}
