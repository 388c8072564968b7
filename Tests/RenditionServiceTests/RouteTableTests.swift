import HTTPTypes
import ObjectStorage
import RenditionCore
import RenditionService
import TestSupport
import Testing

/// The router's route table is the source of the reserved preset names; the planner's list must agree.
@Suite struct RouteTableTests {
    @Test func reservedPresetNamesAreExactlyTheRoutedSegments() {
        #expect(PresetName.reserved == RenditionRouter.reservedSegments)
    }

    @Test func everyFixedRouteIsAnsweredByTheRouterItself() async throws {
        let service = try makeService()
        let router = RenditionRouter(service: service, studio: true)
        for route in RenditionRouter.FixedRoute.allCases {
            let response = await router.handle(get("/\(route.rawValue)"))
            #expect(response.route == route.rawValue && response.head.status == 200, "\(route)")
        }
        for prefix in RenditionRouter.renderPrefixes {
            let response = await RenditionRouter(service: service, renderPrefix: prefix).handle(
                get("/\(prefix)/thumbnail/missing.jpg"))
            #expect(response.route == "render" && response.error?.code == .originalNotFound, "\(prefix)")
        }
        for file in RenditionRouter.rootFiles {
            let response = await router.handle(get("/\(file)"))
            #expect(response.head.status == 404 && response.error?.code == .notFound, "\(file)")
        }
        try await service.shutdown()
    }

    @Test func aRepeatedIfNoneMatchIsOneList() async throws {
        let source = MemoryStore()
        try await source.put(
            try ObjectKey("cat.jpg"), try Fixtures.jpeg(Fixtures.photo(width: 64, height: 48)),
            options: PutOptions(contentType: "image/jpeg"))
        let service = try makeService(source: source)
        let router = RenditionRouter(service: service)
        #expect(await router.handle(get("/_render/thumbnail/cat.jpg")).head.status == 301)
        let hit = await router.handle(get("/thumbnail/cat.jpg"))
        let etag = try #require(hit.head.headerFields[.eTag])
        // The matching tag first: a front that kept only the last field would answer 200.
        for tags in [[etag, "\"other\""], ["\"other\"", etag], ["\"a\", \"b\"", "W/\(etag)"]] {
            var request = get("/thumbnail/cat.jpg")
            for tag in tags { request.headerFields.append(HTTPField(name: .ifNoneMatch, value: tag)) }
            let response = await router.handle(request)
            #expect(response.head.status == 304 && response.cache == "not-modified", "\(tags)")
            #expect(response.head.headerFields[.contentLength] == nil && response.body.isEmpty)
        }
        var neither = get("/thumbnail/cat.jpg")
        neither.headerFields.append(HTTPField(name: .ifNoneMatch, value: "\"a\""))
        neither.headerFields.append(HTTPField(name: .ifNoneMatch, value: "\"b\""))
        #expect(await router.handle(neither).head.status == 200)
        try await service.shutdown()
    }

    private func get(_ path: String) -> HTTPRequest {
        HTTPRequest(method: .get, scheme: nil, authority: nil, path: path)
    }
}
