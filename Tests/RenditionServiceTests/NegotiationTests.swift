import HTTPTypes
import ObjectStorage
import RenditionCore
import RenditionService
import TestSupport
import Testing
import Vips

/// The shipped `card` preset (`format: auto`, widths and densities) through the router: the format is chosen
/// from `Accept`, stored under its own key, and every answer says `Vary: Accept`.
@Suite struct NegotiationTests {
    static let chrome = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
    static let safari13 = "image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5"

    func request(_ path: String, accept: String? = nil) -> HTTPRequest {
        var request = HTTPRequest(method: .get, scheme: nil, authority: nil, path: path)
        if let accept { request.headerFields[.accept] = accept }
        return request
    }

    func withRouter(_ body: (RenditionRouter, MemoryStore) async throws -> Void) async throws {
        let source = MemoryStore()
        try await source.put(
            try ObjectKey("a b/cat.jpg"), try Fixtures.jpeg(Fixtures.photo(width: 1200, height: 900)),
            options: PutOptions(contentType: "image/jpeg"))
        let renditions = MemoryStore()
        let service = try makeService(source: source, renditions: renditions)
        try await body(RenditionRouter(service: service), renditions)
        try await service.shutdown()
    }

    @Test func theMissFlowCarriesTheChosenFormatAndComesBackToTheFormatlessURL() async throws {
        try await withRouter { router, renditions in
            for (accept, format, type) in [
                (Self.chrome, "avif", "image/avif"), ("image/webp,*/*", "webp", "image/webp"),
                (Self.safari13, "jpeg", "image/jpeg"),
            ] {
                let miss = await router.handle(request("/card@2x/a%20b/cat.jpg", accept: accept))
                #expect(miss.head.status == 307 && miss.head.headerFields[.vary] == "Accept")
                #expect(miss.head.headerFields[.location] == "/_render/card@2x@\(format)/a%20b/cat.jpg")
                #expect(miss.head.headerFields[.cacheControl] == "no-store")
                let render = await router.handle(request("/_render/card@2x@\(format)/a%20b/cat.jpg", accept: accept))
                #expect(render.head.status == 301 && render.head.headerFields[.location] == "/card@2x/a%20b/cat.jpg")
                #expect(render.head.headerFields[.vary] == "Accept")
                let hit = await router.handle(request("/card@2x/a%20b/cat.jpg", accept: accept))
                #expect(hit.head.status == 200 && hit.head.headerFields[.contentType] == type)
                #expect(hit.head.headerFields[.vary] == "Accept")
                let image = try Fixtures.decode(hit.body)
                #expect(image.width == 800 && image.height == 600, "2x of 400 px wide")
                let stored = try await renditions.head(ObjectKey("card@2x@\(format)/a b/cat.jpg"))
                #expect(stored != nil)
            }
            let notModified = await router.handle(
                {
                    var conditional = request("/card@2x/a%20b/cat.jpg", accept: Self.chrome)
                    conditional.headerFields[.ifNoneMatch] = "*"
                    return conditional
                }())
            #expect(notModified.head.status == 304 && notModified.head.headerFields[.vary] == "Accept")
        }
    }

    @Test func aFormatAskedForByNameComesBackToTheURLThatNamesIt() async throws {
        try await withRouter { router, _ in
            let named = await router.handle(request("/_render/card@400w@jpeg/a%20b/cat.jpg", accept: Self.chrome))
            #expect(named.head.status == 301 && named.head.headerFields[.location] == "/card@400w@jpeg/a%20b/cat.jpg")
            let hit = await router.handle(request("/card@400w@jpeg/a%20b/cat.jpg", accept: Self.chrome))
            #expect(hit.head.status == 200 && hit.head.headerFields[.contentType] == "image/jpeg")
            let chosen = await router.handle(request("/_render/card@400w@jpeg/a%20b/cat.jpg", accept: Self.safari13))
            #expect(chosen.head.headerFields[.location] == "/card@400w/a%20b/cat.jpg", "Safari 13 gets JPEG there")
        }
    }

    @Test func fixedFormatPresetsKeepTheirKeysAndNoVary() async throws {
        try await withRouter { router, renditions in
            let render = await router.handle(request("/_render/thumbnail/a%20b/cat.jpg", accept: Self.chrome))
            #expect(render.head.status == 301 && render.head.headerFields[.vary] == nil)
            let stored = try await renditions.head(ObjectKey("thumbnail/a b/cat.jpg"))
            #expect(stored != nil)
        }
    }

    @Test(arguments: ["333w", "0w", "2.5x", "x", "99999w", "1x", "webp@400w", "avif@avif"])
    func undeclaredVariantsAre404WithoutARender(variant: String) async throws {
        try await withRouter { router, renditions in
            for path in ["/card@\(variant)/a%20b/cat.jpg", "/_render/card@\(variant)/a%20b/cat.jpg"] {
                let response = await router.handle(request(path, accept: Self.chrome))
                #expect(response.head.status == 404 && response.error?.code == .unknownVariant, "\(path)")
                #expect(response.head.headerFields[.cacheControl] == "no-store")
                #expect(response.head.headerFields[.vary] == "Accept")
                #expect(String(decoding: response.body, as: UTF8.self).contains("\"unknown_variant\""))
            }
            let stored = try await renditions.list(prefix: "", limit: 10)
            #expect(stored.isEmpty, "nothing was rendered")
            #expect(await router.handle(request("/card/a%20b/cat.jpg")).head.status == 307, "still serving")
        }
        let fixed = try await withRouterResult { router in
            await router.handle(request("/thumbnail@webp/a%20b/cat.jpg")).error?.code
        }
        #expect(fixed == .unknownVariant)
    }

    func withRouterResult<T: Sendable>(_ body: (RenditionRouter) async throws -> T) async throws -> T {
        var result: T?
        try await withRouter { router, _ in result = try await body(router) }
        return result!
    }

    @Test(arguments: [
        String(repeating: "image/webp;q=0.5, ", count: 500) + "image/avif",
        "image/avif," + String(repeating: ",", count: 5000),
        String(repeating: "x", count: 8192) + ",image/avif",
        "\u{1}\u{2}garbage;;;q=;,,image/avif;q=2",
    ])
    func hostileAcceptHeadersFallBackToJPEG(accept: String) async throws {
        try await withRouter { router, _ in
            let miss = await router.handle(request("/card/a%20b/cat.jpg", accept: accept))
            #expect(miss.head.status == 307 && miss.head.headerFields[.location] == "/_render/card@jpeg/a%20b/cat.jpg")
            #expect(await router.handle(request("/healthz")).head.status == 200)
        }
    }

    @Test func anAVIFEncodePastTheDeadlineIs504AndStoresNothing() async throws {
        let source = MemoryStore()
        try await source.put(
            try ObjectKey("big.jpg"), try Fixtures.jpeg(Fixtures.photo(width: 3000, height: 2000)),
            options: PutOptions(contentType: "image/jpeg"))
        let renditions = MemoryStore()
        let service = try makeService(source: source, renditions: renditions)
        let router = RenditionRouter(service: service)
        let response = await router.handle(
            request("/_render/card@800w@avif/big.jpg"), deadline: Deadline(.now + .milliseconds(1)))
        #expect(response.head.status == 504 && response.error?.code == .deadlineExceeded)
        #expect(response.head.headerFields[.vary] == "Accept")
        #expect(try await renditions.list(prefix: "", limit: 10).isEmpty)
        #expect(await router.handle(request("/_render/card@avif/big.jpg")).head.status == 301, "still serving")
        try await service.shutdown()
    }
}
