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

/// A server over memory stores holding a few originals, tested without sockets (`.router`).
struct Harness {
    let source = MemoryStore()
    let renditions = MemoryStore()
    let service: RenditionService
    let registry = PrometheusCollectorRegistry()
    var configuration = RenditionConfiguration()

    init(
        plans: [String: PipelinePlan] = shippedPlans, configure: (inout ServiceSettings) -> Void = { _ in }
    ) async throws {
        var settings = ServiceSettings()
        settings.workers = 2
        configure(&settings)
        service = try RenditionService(
            plans: plans, source: source, renditions: renditions, settings: settings,
            metricsFactory: PrometheusMetricsFactory(registry: registry))
        configuration.service = settings
        try await source.put(
            try ObjectKey("photos/cat.jpg"), try Fixtures.jpeg(Fixtures.photo(width: 1600, height: 1200)),
            options: PutOptions(contentType: "image/jpeg"))
    }

    func test(_ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let app = RenditionServer.makeApplication(
            service: service, configuration: configuration, registry: registry, logger: logger)
        try await app.test(.router, body)
    }

    func metric(_ line: String) -> Bool { registry.emitToString().contains(line) }
}

extension TestResponse {
    var text: String { String(buffer: body) }
    func header(_ name: String) -> String? { headers[HTTPField.Name(name)!] }
}

@Suite struct ServerTests {
    @Test func theMissRedirectFlow() async throws {
        let harness = try await Harness()
        try await harness.test { client in
            // Miss: 307 to the render route, never cacheable.
            let miss = try await client.execute(uri: "/thumbnail/photos/cat.jpg", method: .get)
            #expect(miss.status == .temporaryRedirect)
            #expect(miss.header("Location") == "/_render/thumbnail/photos/cat.jpg")
            #expect(miss.header("Cache-Control") == "no-store")

            // Render: stores, then 301 back to the public URL with timings.
            let render = try await client.execute(uri: "/_render/thumbnail/photos/cat.jpg", method: .get)
            #expect(render.status == .movedPermanently)
            #expect(render.header("Location") == "/thumbnail/photos/cat.jpg")
            #expect(render.header("Cache-Control") == "no-store")
            #expect(render.header("Server-Timing")?.contains("process;dur=") == true)

            // Hit: the image with the preset's caching headers.
            let hit = try await client.execute(uri: "/thumbnail/photos/cat.jpg", method: .get)
            #expect(hit.status == .ok)
            #expect(hit.header("Content-Type") == "image/webp")
            #expect(hit.header("Cache-Control") == "public, max-age=1209600")
            let etag = try #require(hit.header("ETag"))
            #expect(hit.header("Last-Modified")?.hasSuffix("GMT") == true)
            #expect(try Fixtures.decode(Array(buffer: hit.body)).width == 400)

            // Conditional and HEAD.
            let notModified = try await client.execute(
                uri: "/thumbnail/photos/cat.jpg", method: .get, headers: [.ifNoneMatch: etag])
            #expect(notModified.status == .notModified && notModified.body.readableBytes == 0)
            let head = try await client.execute(uri: "/thumbnail/photos/cat.jpg", method: .head)
            #expect(head.status == .ok && head.header("Content-Length") == hit.header("Content-Length"))

            // Render again: idempotent, no work.
            let again = try await client.execute(uri: "/_render/thumbnail/photos/cat.jpg", method: .get)
            #expect(again.status == .movedPermanently && again.header("Server-Timing") == nil)
        }
        #expect(harness.renditions.putCount == 1)
        #expect(harness.metric("rendition_renders_total 1"))
        #expect(harness.metric("rendition_http_requests_total{route=\"origin\",status=\"307\"} 1"))
    }

    @Test func aRepeatedIfNoneMatchReachesTheRouterWhole() async throws {
        let harness = try await Harness()
        try await harness.test { client in
            _ = try await client.execute(uri: "/_render/thumbnail/photos/cat.jpg", method: .get)
            let hit = try await client.execute(uri: "/thumbnail/photos/cat.jpg", method: .get)
            let etag = try #require(hit.header("ETag"))
            // The matching tag first: a front that kept one field per name would keep only "other".
            var headers = HTTPFields()
            headers.append(HTTPField(name: .ifNoneMatch, value: etag))
            headers.append(HTTPField(name: .ifNoneMatch, value: "\"other\""))
            let response = try await client.execute(uri: "/thumbnail/photos/cat.jpg", method: .get, headers: headers)
            #expect(response.status == .notModified && response.body.readableBytes == 0)
        }
    }

    @Test func publicBaseURLMakesAbsoluteRedirects() async throws {
        var harness = try await Harness()
        harness.configuration.publicBaseURL = "https://img.example.com"
        try await harness.test { client in
            let render = try await client.execute(uri: "/_render/avatar/photos/cat.jpg", method: .get)
            #expect(render.header("Location") == "https://img.example.com/avatar/photos/cat.jpg")
        }
    }

    @Test(arguments: [
        "/thumbnail/../../etc/passwd", "/thumbnail/a/../b.jpg", "/thumbnail/./a.jpg", "/thumbnail/a\\b.jpg",
        "/thumbnail/..%2f..%2fetc/passwd", "/thumbnail/%2e%2e/secret.jpg", "/thumbnail/a/%2E%2E/%2E%2E/b.jpg",
        "/thumbnail/a%00b.jpg", "/thumbnail/a%5c..%5cb.jpg", "/thumbnail/%2fetc/passwd", "/thumbnail//abs.jpg",
        "/thumbnail/bad%zzescape.jpg", "/_render/thumbnail/%2e%2e/x.jpg", "/_render/thumbnail/a%00.jpg",
        "/thumbnail/" + String(repeating: "k", count: 1100) + ".jpg",
    ])
    func hostileKeysAre400(path: String) async throws {
        let harness = try await Harness()
        try await harness.test { client in
            let response = try await client.execute(uri: path, method: .get)
            #expect(response.status == .badRequest, "\(path)")
            #expect(response.header("Cache-Control") == "no-store")
            #expect(response.text.contains("\"code\": \"invalid_key\""))
            // And the service keeps serving.
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
        }
    }

    @Test func unknownPresetsReservedNamesAndMissingOriginals() async throws {
        let harness = try await Harness()
        try await harness.test { client in
            for path in ["/nosuch/photos/cat.jpg", "/_render/nosuch/photos/cat.jpg", "/metrics/x.jpg", "/healthz/x"] {
                let response = try await client.execute(uri: path, method: .get)
                #expect(response.status == .notFound, "\(path)")
                #expect(response.text.contains("\"code\": \"unknown_preset\""), "\(path)")
            }
            let missing = try await client.execute(uri: "/_render/thumbnail/photos/dog.jpg", method: .get)
            #expect(missing.status == .notFound && missing.text.contains("original_not_found"))
            #expect(missing.header("Cache-Control") == "no-store" && missing.header("Location") == nil)
            let post = try await client.execute(uri: "/thumbnail/photos/cat.jpg", method: .post)
            #expect(post.status == .methodNotAllowed && post.header("Allow") == "GET, HEAD")
        }
    }

    @Test func badOriginalsGetTheirStatusNeverARedirect() async throws {
        let harness = try await Harness { $0.maxInputBytes = 2_000_000 }
        let cases: [(String, [UInt8], HTTPResponse.Status, String)] = [
            (
                "corrupt.jpg",
                Fixtures.truncated(try Fixtures.jpeg(Fixtures.photo(width: 800, height: 600)), keeping: 0.4),
                .unprocessableContent, "corrupt_image"
            ),
            ("text.jpg", Array("just text".utf8), .unsupportedMediaType, "unsupported_format"),
            (
                "svg.jpg", Array("<svg xmlns='http://www.w3.org/2000/svg'/>".utf8), .unsupportedMediaType,
                "unsupported_format"
            ),
            ("empty.jpg", [], .unsupportedMediaType, "unsupported_format"),
            (
                "sof.jpg", try Fixtures.jpegClaiming(width: 65_500, height: 65_500), .unprocessableContent,
                "too_many_pixels"
            ),
            (
                "ihdr.png", try Fixtures.pngClaiming(width: 100_000, height: 100_000), .unprocessableContent,
                "too_many_pixels"
            ),
            (
                "huge.jpg", [0xFF, 0xD8, 0xFF] + [UInt8](repeating: 0, count: 2_000_001), .contentTooLarge,
                "input_too_large"
            ),
        ]
        for (key, bytes, _, _) in cases {
            try await harness.source.put(try ObjectKey(key), bytes, options: PutOptions(contentType: "image/jpeg"))
        }
        try await harness.test { client in
            for (key, _, status, code) in cases {
                let response = try await client.execute(uri: "/_render/thumbnail/\(key)", method: .get)
                #expect(response.status == status, "\(key)")
                #expect(response.text.contains("\"code\": \"\(code)\""), "\(key): \(response.text)")
                #expect(response.header("Location") == nil && response.header("Cache-Control") == "no-store")
                #expect(!response.text.contains("libvips") && !response.text.contains("Vips"))
            }
            #expect(
                try await client.execute(uri: "/_render/thumbnail/photos/cat.jpg", method: .get).status
                    == .movedPermanently)
        }
        #expect(harness.renditions.putCount == 1)
    }

    /// A stage that can only fail once it sees the image (a pad box smaller than it) answers 422 with the
    /// stage named, stores nothing, and the next render works.
    @Test func aPadBoxSmallerThanTheImageIsUnprocessableAndTheServiceKeepsServing() async throws {
        var plans = shippedPlans
        plans["tight"] = try PipelineLibrary.planText(
            "stages:\n  - pad: {width: 100, height: 100}\n  - encode: {format: jpeg}\n", name: "tight",
            source: "tight.yaml"
        ).get()
        let harness = try await Harness(plans: plans)
        try await harness.test { client in
            let refused = try await client.execute(uri: "/_render/tight/photos/cat.jpg", method: .get)
            #expect(refused.status == .unprocessableContent)
            #expect(refused.text.contains("\"code\": \"unprocessable\"") && refused.text.contains("pad box"))
            #expect(refused.header("Location") == nil && refused.header("Cache-Control") == "no-store")
            #expect(
                try await client.execute(uri: "/_render/thumbnail/photos/cat.jpg", method: .get).status
                    == .movedPermanently)
        }
        #expect(harness.renditions.putCount == 1)
    }

    @Test func aHundredConcurrentMissesRenderOnce() async throws {
        let harness = try await Harness()
        try await harness.test { client in
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<100 {
                    group.addTask {
                        try await client.execute(uri: "/_render/avatar/photos/cat.jpg", method: .get).status
                    }
                }
                return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
            }
            #expect(statuses == Array(repeating: .movedPermanently, count: 100))
        }
        #expect(harness.renditions.putCount == 1)
        #expect(harness.metric("rendition_renders_total 1"))
    }

    /// A stampede: 200 clients at once over 20 renditions nobody has rendered yet. Single flight folds the
    /// ten requests for each rendition into one render; every client gets its redirect.
    @Test func twoHundredClientsOverTwentyMissesRenderTwentyTimes() async throws {
        let harness = try await Harness()
        let photo = try Fixtures.jpeg(Fixtures.photo(width: 1200, height: 900))
        for index in 0..<20 {
            try await harness.source.put(
                try ObjectKey("stampede/\(index).jpg"), photo, options: PutOptions(contentType: "image/jpeg"))
        }
        try await harness.test { client in
            let answers = try await withThrowingTaskGroup(of: (Int, HTTPResponse.Status, String?).self) { group in
                for request in 0..<200 {
                    group.addTask {
                        let key = "stampede/\(request % 20).jpg"
                        let response = try await client.execute(uri: "/_render/thumbnail/\(key)", method: .get)
                        return (request % 20, response.status, response.header("Location"))
                    }
                }
                return try await group.reduce(into: [(Int, HTTPResponse.Status, String?)]()) { $0.append($1) }
            }
            #expect(answers.count == 200)
            for (index, status, location) in answers {
                #expect(status == .movedPermanently && location == "/thumbnail/stampede/\(index).jpg")
            }
            for index in 0..<20 {
                let hit = try await client.execute(uri: "/thumbnail/stampede/\(index).jpg", method: .get)
                #expect(hit.status == .ok && hit.header("Content-Type") == "image/webp")
            }
        }
        #expect(harness.renditions.putCount == 20)
        #expect(harness.metric("rendition_renders_total 20"))
    }

    @Test func aFullQueueAnswers503WithRetryAfter() async throws {
        let harness = try await Harness {
            $0.workers = 1
            $0.queueSize = 0
        }
        let big = try Fixtures.jpeg(Fixtures.photo(width: 3000, height: 2000))
        for index in 0..<6 {
            try await harness.source.put(
                try ObjectKey("big\(index).jpg"), big, options: PutOptions(contentType: "image/jpeg"))
        }
        try await harness.test { client in
            let responses = try await withThrowingTaskGroup(of: (HTTPResponse.Status, String?).self) { group in
                for index in 0..<6 {
                    group.addTask {
                        let response = try await client.execute(
                            uri: "/_render/original-webp/big\(index).jpg", method: .get)
                        return (response.status, response.header("Retry-After"))
                    }
                }
                return try await group.reduce(into: [(HTTPResponse.Status, String?)]()) { $0.append($1) }
            }
            #expect(responses.contains { $0.0 == .movedPermanently })
            #expect(responses.contains { $0.0 == .serviceUnavailable && $0.1 == "2" })
            // Recovery: with the queue drained, everything renders.
            for index in 0..<6 {
                #expect(
                    try await client.execute(uri: "/_render/original-webp/big\(index).jpg", method: .get).status
                        == .movedPermanently)
            }
        }
    }

    @Test func aRenderPastTheDeadlineIs504() async throws {
        let harness = try await Harness {
            $0.workers = 1
            $0.renderTimeout = .milliseconds(20)
        }
        try await harness.source.put(
            try ObjectKey("big.jpg"), try Fixtures.jpeg(Fixtures.photo(width: 4000, height: 3000)),
            options: PutOptions(contentType: "image/jpeg"))
        try await harness.test { client in
            let response = try await client.execute(uri: "/_render/original-webp/big.jpg", method: .get)
            #expect(response.status == .gatewayTimeout && response.text.contains("deadline_exceeded"))
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
        }
        #expect(harness.renditions.putCount == 0, "nothing partial is stored")
    }

    @Test func healthReadinessAndMetrics() async throws {
        let harness = try await Harness()
        try await harness.test { client in
            #expect(try await client.execute(uri: "/healthz", method: .get).text == "ok\n")
            let ready = try await client.execute(uri: "/readyz", method: .get)
            #expect(ready.status == .ok && ready.text.contains("\(shippedPlans.count) presets"))
            _ = try await client.execute(uri: "/_render/thumbnail/photos/cat.jpg", method: .get)
            let metrics = try await client.execute(uri: "/metrics", method: .get)
            for name in [
                "rendition_http_requests_total", "rendition_render_duration_seconds_bucket",
                "rendition_renders_in_flight",
                "rendition_render_queue_depth", "rendition_original_bytes_read_total",
                "rendition_rendition_bytes_written_total",
            ] {
                #expect(metrics.text.contains(name), "\(name)")
            }
            let index = try await client.execute(uri: "/", method: .get)
            #expect(index.text.contains("Try: /avatar/sample.jpg"))
        }
    }

    @Test func readinessFailsWhenAStoreFolderCannotBeRead() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "rendition-ready-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let originals = folder.appendingPathComponent("originals")
        let source = try FileSystemStore(root: originals)
        // A regular file where the folder was: unreadable as a folder even to root, unlike a chmod 000.
        try FileManager.default.removeItem(at: originals)
        try Data("not a folder".utf8).write(to: originals)
        let service = try RenditionService(plans: shippedPlans, source: source, renditions: MemoryStore())
        let app = RenditionServer.makeApplication(
            service: service, configuration: RenditionConfiguration(), registry: PrometheusCollectorRegistry(),
            logger: Logger(label: "test"))
        try await app.test(.router) { client in
            let ready = try await client.execute(uri: "/readyz", method: .get)
            #expect(ready.status == .serviceUnavailable)
            #expect(ready.header("Retry-After") == "2" && ready.header("Cache-Control") == "no-store")
            #expect(ready.text.contains("\"code\": \"overloaded\""), "\(ready.text)")
            #expect(ready.text.contains("Not ready: Storage failed while checking the stores"), "\(ready.text)")
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok, "alive, not ready")
        }
    }
}

@Suite struct HTTPDateTests {
    @Test func imfFixdate() {
        #expect(RenditionRouter.httpDate(Date(timeIntervalSince1970: 1_795_915_452)) == "Sun, 29 Nov 2026 01:24:12 GMT")
        #expect(RenditionRouter.httpDate(Date(timeIntervalSince1970: 0)) == "Thu, 01 Jan 1970 00:00:00 GMT")
    }
}
