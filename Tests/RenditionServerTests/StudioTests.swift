import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import ObjectStorage
import Prometheus
import RenditionCatalog
import RenditionCore
import RenditionServer
import RenditionService
import TestSupport
import Testing

/// A store that forwards to a memory store but cannot list, like a store without a list operation.
struct UnlistableStore: ObjectStore {
    let inner = MemoryStore()
    var description: String { "unlistable" }
    func get(_ key: ObjectKey, maxBytes: Int) async throws(StorageError) -> StoredObject? {
        try await inner.get(key, maxBytes: maxBytes)
    }
    func head(_ key: ObjectKey) async throws(StorageError) -> ObjectMetadata? { try await inner.head(key) }
    func put(_ key: ObjectKey, _ body: [UInt8], options: PutOptions) async throws(StorageError) -> ObjectMetadata {
        try await inner.put(key, body, options: options)
    }
    func checkReachable() async throws(StorageError) {}
}

@Suite struct StudioTests {
    static let hostileKey = "users/<img src=x onerror=alert(1)>.jpg"
    static let encodedKey = "users/%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E.jpg"

    @Test func studioListsPresetsAndOriginalsAsPublicURLsThatWalkTheFlow() async throws {
        var harness = try await Harness()
        harness.configuration.studio = true
        try await harness.source.put(
            try ObjectKey(Self.hostileKey), try Fixtures.jpeg(Fixtures.photo(width: 300, height: 200)),
            options: PutOptions(contentType: "image/jpeg"))
        try await harness.test { client in
            let page = try await client.execute(uri: "/studio", method: .get)
            #expect(page.status == .ok)
            #expect(page.header("Content-Type") == "text/html; charset=utf-8")
            #expect(page.header("Cache-Control") == "no-store")
            #expect(page.header("Content-Security-Policy")?.contains("default-src 'none'") == true)
            let html = page.text
            #expect(!html.contains("<img src=x"))
            #expect(html.contains("users/&lt;img src=x onerror=alert(1)&gt;.jpg"))
            for preset in shippedPlans.keys.sorted() {
                #expect(html.contains(#"<img src="/\#(preset)/photos/cat.jpg""#))
                #expect(html.contains(#"<img src="/\#(preset)/\#(Self.encodedKey)""#))
            }
            #expect(
                html.components(separatedBy: "<img ").count - 1 == 2
                    * shippedPlans.values.map(studioImages).reduce(0, +))

            // The page's URL for the hostile key goes through the normal flow.
            let miss = try await client.execute(uri: "/thumbnail/\(Self.encodedKey)", method: .get)
            #expect(miss.status == .temporaryRedirect)
            let location = try #require(miss.header("Location"))
            #expect(location == "/_render/thumbnail/\(Self.encodedKey)")
            let render = try await client.execute(uri: location, method: .get)
            #expect(render.status == .movedPermanently)
            #expect(render.header("Location") == "/thumbnail/\(Self.encodedKey)")
            let hit = try await client.execute(uri: "/thumbnail/\(Self.encodedKey)", method: .get)
            #expect(hit.status == .ok && hit.header("Content-Type") == "image/webp")

            // The index mentions the page.
            #expect(try await client.execute(uri: "/", method: .get).text.contains("/studio"))
        }
        #expect(harness.metric("rendition_http_requests_total{route=\"studio\",status=\"200\"} 1"))
    }

    @Test func studioOffIsNotFound() async throws {
        var harness = try await Harness()
        harness.configuration.studio = false
        try await harness.test { client in
            let page = try await client.execute(uri: "/studio", method: .get)
            #expect(page.status == .notFound)
            #expect(page.header("Cache-Control") == "no-store")
            #expect(!(try await client.execute(uri: "/", method: .get).text.contains("/studio")))
        }
    }

    @Test func aStoreThatCannotListGetsAPageThatSaysSo() async throws {
        let source = UnlistableStore()
        let service = try RenditionService(plans: shippedPlans, source: source, renditions: MemoryStore())
        let router = RenditionRouter(service: service, studio: true)
        let response = await router.handle(HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/studio"))
        #expect(response.head.status == 200)
        let html = String(decoding: response.body, as: UTF8.self)
        #expect(html.contains("cannot list its objects"))
        #expect(!html.contains("<img "))
        try await service.shutdown()
    }

    @Test func listingIsBoundedAndSorted() async throws {
        let source = MemoryStore()
        let bytes = try Fixtures.jpeg(Fixtures.photo(width: 32, height: 32))
        for index in (0..<60).reversed() {
            try await source.put(
                try ObjectKey(String(format: "p/%02d.jpg", index)), bytes,
                options: PutOptions(contentType: "image/jpeg"))
        }
        let service = try RenditionService(plans: shippedPlans, source: source, renditions: MemoryStore())
        let router = RenditionRouter(service: service, studio: true)
        let html = String(
            decoding: await router.handle(HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/studio")).body,
            as: UTF8.self)
        #expect(html.contains("Showing the first 50 originals"))
        #expect(html.contains("/thumbnail/p/49.jpg") && !html.contains("/thumbnail/p/50.jpg"))
        #expect(
            html.components(separatedBy: "<img ").count - 1 == 50 * shippedPlans.values.map(studioImages).reduce(0, +))
        // Bytes are looked up for a bounded number of renditions only, and the page says so when that bounds them.
        let renditions = 50 * shippedPlans.values.map { $0.allForms.count }.reduce(0, +)
        #expect(html.contains("not stored yet"))
        #expect(html.contains("Bytes were looked up for the first") == (renditions > 1_200))
        try await service.shutdown()
    }

    /// Bytes as the page writes them (`16.2 kB`; the shipped card's renditions of a 1200×800 photo are over 10 kB).
    static func kilobytes(_ count: Int) -> String {
        count < 10_000 ? "\(count) B" : String(format: "%.1f kB", Double(count) / 1_000)
    }

    @Test func everyFormOfANegotiatingPresetIsShownWithTheBytesStored() async throws {
        var harness = try await Harness()
        harness.configuration.studio = true
        try await harness.source.put(
            try ObjectKey("photo.jpg"), try Fixtures.jpeg(Fixtures.photo(width: 1200, height: 800)),
            options: PutOptions(contentType: "image/jpeg"))
        let card = try #require(shippedPlans["card"])
        #expect(card.negotiates && card.variants.sizes.count > 1)
        try await harness.test { client in
            let before = try await client.execute(uri: "/studio", method: .get).text
            for format in card.formats {
                #expect(before.contains(#"<img class="form" src="/card%40\#(format.token)/photo.jpg""#), "\(format)")
            }
            for size in card.variants.sizes where size != .base {
                let segment = "card" + size.suffix.replacingOccurrences(of: "@", with: "%40")
                #expect(before.contains(#"<img class="form" src="/\#(segment)/photo.jpg""#), "\(size)")
            }
            // Nothing stored yet: the page says so for every form rather than showing bytes.
            #expect(!before.contains("class=\"bytes\""))
            // Two originals (the harness's photos/cat.jpg and photo.jpg), every form of every preset.
            let forms = 2 * shippedPlans.values.map { $0.allForms.count }.reduce(0, +)
            #expect(before.components(separatedBy: "not stored yet").count - 1 == forms)

            // Render the base size in every format and the widest variant in the fallback format.
            let widest = try #require(card.variants.widths.max())
            let fallback = try #require(card.formats.last?.token)
            var stored: [String: Int] = [:]
            for segment in card.formats.map({ "card@\($0.token)" }) + ["card@\(widest)w@\(fallback)"] {
                let render = try await client.execute(uri: "/_render/\(segment)/photo.jpg", method: .get)
                #expect(render.status == .movedPermanently, "\(segment)")
                let hit = try await client.execute(uri: "/\(segment)/photo.jpg", method: .get)
                #expect(hit.status == .ok, "\(segment)")
                stored[segment] = hit.body.readableBytes
            }
            let after = try await client.execute(uri: "/studio", method: .get).text
            for (segment, bytes) in stored {
                #expect(after.contains(Self.kilobytes(bytes)), "\(segment)")
            }
            let share = Double(stored["card@avif"]!) / Double(stored["card@\(fallback)"]!) * 100
            #expect(after.contains("\(String(format: "%.0f", share)) % of \(fallback.uppercased())"))
            #expect(after.components(separatedBy: "not stored yet").count - 1 == forms - stored.count)
        }
    }
}
