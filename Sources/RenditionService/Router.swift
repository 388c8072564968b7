public import Failures
public import Foundation
public import HTTPTypes
import ObjectStorage
public import RenditionCore
import RenditionPreview

/// The router's answer before any transport writes it: the HTTP head and body, and what the request
/// was, for logs and metrics.
public struct RoutedResponse: Sendable {
    /// Status and header fields, in the order they are written.
    public var head: HTTPResponse
    public var body: [UInt8]

    /// What the request was, for logs and metrics.
    public var route = "other"
    public var preset: String?
    public var key: String?
    /// `hit`, `miss`, `not-modified`, `rendered`, `existing`, or `-`.
    public var cache = "-"
    /// The error answered, if any (its cause is for logs only).
    public var error: RenditionError?
    /// Whether the preset asked for chooses its format by `Accept`, so every answer says `Vary: Accept`.
    var negotiated = false

    init() {
        head = HTTPResponse(status: 500)
        body = []
    }
}

/// The miss-redirect flow's HTTP semantics (design §5), shared by the server and the function so both
/// answer the same statuses and headers. Routes by the raw path: health, metrics, render and origin.
///
/// Keys are arbitrary paths whose percent-escapes (`%2e%2e`, `%2f`, `%00`) are judged after decoding, in
/// one place, before any store sees them.
public struct RenditionRouter: Sendable {
    public let service: RenditionService
    public let renderPrefix: String
    public let publicBaseURL: String
    /// Whether `GET /studio` serves the preset studio page (otherwise it is a 404 like any unknown path).
    public let studio: Bool
    let metricsText: @Sendable () -> String

    /// The studio shows at most this many originals, the first by key, so the page stays quick to list
    /// and render.
    public static let studioOriginalLimit = 50

    /// The one-segment paths the router answers itself, ahead of any preset.
    public enum FixedRoute: String, Sendable, CaseIterable {
        case healthz, readyz, metrics, studio
    }

    /// The render route's prefix unless `server.renderPrefix` says otherwise, and its plain spelling, so
    /// neither can ever be a preset (a configured prefix is checked against the presets as they load).
    public static let renderPrefixes: Set<String> = ["_render", "render"]

    /// Files browsers and crawlers ask for at the root on their own: answered 404, and kept from presets
    /// so the answer never changes.
    public static let rootFiles: Set<String> = ["favicon.ico", "robots.txt"]

    /// Every first path segment the route table claims: ``PresetName/reserved`` in the core must list
    /// exactly these (a test holds the two together), so no preset shadows a route.
    public static var reservedSegments: Set<String> {
        Set(FixedRoute.allCases.map(\.rawValue)).union(renderPrefixes).union(rootFiles)
    }

    /// What the front serving the router offers beyond the flow.
    public enum Front: Sendable {
        /// `rendition serve`: the studio when the configuration turns it on, and the metrics registry's
        /// text at `/metrics`.
        case server(metricsText: @Sendable () -> String)
        /// The Lambda function: no studio (a function URL is public, and the page lists originals) and an
        /// empty `/metrics` (each instance counts for itself; CloudWatch has the function's numbers).
        case function
    }

    /// The router `configuration` describes, for `front`: the one place the server and the function
    /// build it.
    public init(configuration: RenditionConfiguration, service: RenditionService, front: Front) {
        switch front {
        case .server(let metricsText):
            self.init(
                service: service, renderPrefix: configuration.renderPrefix,
                publicBaseURL: configuration.publicBaseURL, studio: configuration.studio, metricsText: metricsText)
        case .function:
            self.init(
                service: service, renderPrefix: configuration.renderPrefix,
                publicBaseURL: configuration.publicBaseURL)
        }
    }

    /// A router with every setting given (tests); the fronts use ``init(configuration:service:front:)``.
    public init(
        service: RenditionService, renderPrefix: String = "_render", publicBaseURL: String = "",
        studio: Bool = false, metricsText: @escaping @Sendable () -> String = { "" }
    ) {
        self.service = service
        self.renderPrefix = renderPrefix
        self.publicBaseURL = publicBaseURL
        self.studio = studio
        self.metricsText = metricsText
    }

    /// The status for an error code: the one place errors become HTTP statuses. Integer literals, so the
    /// reason phrase is left to the transport as it always was.
    public static func status(for code: RenditionError.Code) -> HTTPResponse.Status {
        switch code {
        case .invalidKey: 400
        case .unknownPreset, .unknownVariant, .originalNotFound, .notFound: 404
        case .unsupportedFormat: 415
        case .corruptImage, .tooManyPixels, .unprocessable: 422
        case .inputTooLarge: 413
        case .overloaded: 503
        case .storageFailure: 502
        case .deadlineExceeded, .storageTimeout: 504
        case RenditionError.Code("method_not_allowed"): 405
        default: 500
        }
    }

    /// `{"error": {"code": "...", "message": "..."}}`.
    public static func errorBody(_ error: RenditionError) -> String {
        JSONValue.object([
            ("error", .object([("code", .string(error.code.rawValue)), ("message", .string(error.message))]))
        ]).pretty() + "\n"
    }

    /// Answers `request` (its body, if any, is not read: only GET and HEAD are served). Never throws:
    /// failures become JSON errors with `Cache-Control: no-store`. `deadline` shortens the render deadline
    /// (the function's remaining time).
    public func handle(_ request: HTTPRequest, deadline: Deadline? = nil) async -> RoutedResponse {
        var response = RoutedResponse()
        do {
            try await route(request, deadline: deadline, into: &response)
        } catch let error as RenditionError {
            response.apply(error, head: request.method == .head)
        } catch {
            response.apply(
                RenditionError(.internal, "The request failed unexpectedly.", cause: DescribedError(error)),
                head: request.method == .head)
        }
        // Caches must key a negotiating preset's answers, errors and redirects included, on the client's Accept.
        if response.negotiated { response.head.headerFields.append(HTTPField(name: .vary, value: "Accept")) }
        return response
    }

    func route(_ request: HTTPRequest, deadline: Deadline?, into response: inout RoutedResponse) async throws {
        guard request.method == .get || request.method == .head else {
            response.apply(
                RenditionError(RenditionError.Code("method_not_allowed"), "Only GET and HEAD are served."), head: false)
            response.head.headerFields.append(HTTPField(name: .allow, value: "GET, HEAD"))
            return
        }
        let target = request.path ?? "/"
        let path = try RequestPath(String(target[..<(target.firstIndex(of: "?") ?? target.endIndex)]))
        let segments = path.decoded
        if segments.count == 1, let fixed = FixedRoute(rawValue: segments[0]), fixed != .studio || studio {
            response.route = fixed.rawValue
            try await answer(fixed, into: &response)
            return
        }
        switch segments.first {
        case "", nil:
            response.route = "index"
            response.text(200, index(), type: "text/plain; charset=utf-8")
        case renderPrefix:
            response.route = "render"
            guard segments.count >= 3 else { throw Self.notFound }
            let address = try address(request, segments[1...], into: &response)
            try await render(
                address, accept: accept(request), rawKey: path.raw[2...], deadline: deadline, into: &response)
        default:
            response.route = "origin"
            guard segments.count >= 2 else { throw Self.notFound }
            let address = try address(request, segments[...], into: &response)
            try await origin(request, address, rawKey: path.raw[1...], into: &response)
        }
    }

    /// The address `segments` (a rendition segment such as `card@400w`, then the key) name, with the
    /// preset's name and the key noted for logs before anything can fail.
    func address(_ request: HTTPRequest, _ segments: ArraySlice<String>, into response: inout RoutedResponse)
        throws(RenditionError) -> RenditionAddress
    {
        let segment = segments.first!
        let name = RenditionForm.split(segment).preset
        let key = segments.dropFirst().joined(separator: "/")
        response.preset = name
        response.key = key
        response.negotiated = service.plans[name]?.negotiates ?? false
        return try service.address(segment: segment, key: key, accept: accept(request))
    }

    /// The request's `Accept`; a repeated field is one comma-separated list (RFC 9110 §5.3).
    func accept(_ request: HTTPRequest) -> String? {
        let values = request.headerFields[values: .accept]
        return values.isEmpty ? nil : values.joined(separator: ", ")
    }

    /// A fixed route's answer.
    func answer(_ route: FixedRoute, into response: inout RoutedResponse) async throws {
        switch route {
        case .healthz:
            response.text(200, "ok\n", type: "text/plain; charset=utf-8")
        case .readyz:
            do {
                try await service.checkReady()
                response.text(
                    200, "ready: \(service.plans.count) presets, stores reachable\n", type: "text/plain; charset=utf-8")
            } catch {
                // Not ready is a state, not a gateway fault: 503 tells load balancers to route elsewhere.
                response.apply(RenditionError(.overloaded, "Not ready: \(error.message)", cause: error), head: false)
            }
        case .metrics:
            response.text(200, metricsText(), type: "text/plain; version=0.0.4; charset=utf-8")
        case .studio:
            try await studioPage(into: &response)
        }
    }

    /// Origin: the stored rendition (200/304), or a 307 to the render route that no cache may keep.
    func origin(
        _ request: HTTPRequest, _ address: RenditionAddress, rawKey: ArraySlice<Substring>,
        into response: inout RoutedResponse
    )
        async throws
    {
        let conditions = request.headerFields[values: .ifNoneMatch]
        let conditional = conditions.isEmpty ? nil : conditions.joined(separator: ", ")
        // The render route is told the form chosen here (the format included), never the raw Accept.
        let miss =
            "/\(renderPrefix)/\(address.plan.form.segment(preset: address.plan.name))/" + rawKey.joined(separator: "/")
        let isHead = request.method == .head
        if isHead || conditional != nil {
            guard let metadata = try await service.renditionMetadata(address) else {
                response.cache = "miss"
                response.redirect(307, to: miss)
                return
            }
            response.head.headerFields = Self.headers(for: metadata, plan: address.plan)
            if let conditional, Self.matches(conditional, etag: metadata.etag) {
                response.cache = "not-modified"
                response.head.status = 304
                response.head.headerFields[.contentLength] = nil
                return
            }
            if isHead {
                response.cache = "hit"
                response.head.status = 200
                return
            }
        }
        guard let object = try await service.rendition(address) else {
            response.cache = "miss"
            response.redirect(307, to: miss)
            return
        }
        response.cache = "hit"
        response.head.status = 200
        response.head.headerFields = Self.headers(for: object.metadata, plan: address.plan)
        response.body = object.body
    }

    /// Render: make and store the rendition, then 301 back to its public URL, which names no format when
    /// the client's `Accept` chooses this one there (the miss flow); a client that asked for another format
    /// by name goes back to the URL that names it. Never redirects on failure.
    func render(
        _ address: RenditionAddress, accept: String?, rawKey: ArraySlice<Substring>, deadline: Deadline?,
        into response: inout RoutedResponse
    )
        async throws
    {
        let result = try await service.render(address, deadline: deadline)
        let (plan, preset) = (address.plan, service.plans[address.plan.name])
        let segment =
            preset?.negotiate(accept: accept) == plan.form.format
            ? plan.form.publicSegment(preset: plan.name) : plan.form.segment(preset: plan.name)
        response.redirect(301, to: publicBaseURL + "/" + segment + "/" + rawKey.joined(separator: "/"))
        switch result {
        case .rendered(_, let timings):
            response.cache = "rendered"
            response.head.headerFields.append(
                HTTPField(
                    name: Self.serverTiming,
                    value:
                        "load;dur=\(Self.ms(timings.load)), process;dur=\(Self.ms(timings.process)), store;dur=\(Self.ms(timings.store))"
                ))
        case .existing:
            response.cache = "existing"
        }
    }

    static let serverTiming = HTTPField.Name("Server-Timing")!

    /// The studio: every preset on the first originals of the source store, as images at their public
    /// URLs, so the browser walks the miss-redirect flow, and each form of a preset with forms at its own
    /// URL, with the bytes the rendition store holds for each (looked up, bounded). Never cached: the
    /// store changes under it.
    func studioPage(into response: inout RoutedResponse) async throws {
        let listing: StudioPage.Listing
        do {
            let keys = try await service.source.list(prefix: "", limit: Self.studioOriginalLimit + 1)
            listing = .keys(
                keys.prefix(Self.studioOriginalLimit).map(\.rawValue), truncated: keys.count > Self.studioOriginalLimit)
        } catch let error where error.code == .unsupported {
            listing = .unavailable(
                "This originals store cannot list its objects, so the studio cannot show them; ask for "
                    + "/{preset}/{key} directly, or preview presets with `rendition preview`.")
        } catch {
            throw RenditionError.storage(error, while: "listing originals for the studio")
        }
        let presets = service.plans.values.sorted { $0.name < $1.name }.map(StudioPage.Preset.init)
        var stored: StudioPage.Stored?
        if case .keys(let keys, _) = listing, !keys.isEmpty {
            stored = await service.storedSizes(
                StudioPage.renditionKeys(presets: presets, keys: keys), limit: Self.studioLookupLimit)
        }
        let html = StudioPage.html(
            presets: presets, listing: listing, publicBaseURL: publicBaseURL, store: "\(service.source)",
            stored: stored)
        response.text(200, html, type: "text/html; charset=utf-8")
        // The page has no script; images may come from the public base (a CDN) as well as this host, and
        // the empty `data:` icon keeps the browser from asking for /favicon.ico.
        response.head.headerFields.append(
            HTTPField(
                name: .contentSecurityPolicy,
                value: "default-src 'none'; img-src 'self' data:\(publicBaseURL.isEmpty ? "" : " " + publicBaseURL); "
                    + "style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
            ))
    }

    static let notFound = RenditionError(
        .notFound, "Nothing here: ask for /{preset}/{key}, such as /thumbnail/sample.jpg.")

    func index() -> String {
        let presets = service.plans.keys.sorted()
        var text = "Rendition: image renditions on first request.\n\n"
        text += "GET /{preset}/{key} returns the rendition of the original at {key} (rendered on first request).\n"
        text += "Presets: \(presets.joined(separator: ", "))\n"
        if let first = presets.first { text += "Try: /\(first)/sample.jpg\n" }
        text +=
            "\nAlso: /healthz, /readyz, /metrics\(studio ? ", /studio (every preset on the originals, in a browser)" : "")\n"
        return text
    }

    static func headers(for metadata: ObjectMetadata, plan: PipelinePlan) -> HTTPFields {
        [
            .contentType: metadata.contentType,
            .cacheControl: metadata.cacheControl ?? plan.cacheControl,
            .eTag: metadata.etag,
            .lastModified: httpDate(metadata.lastModified),
            .contentLength: String(metadata.size),
        ]
    }

    static func matches(_ header: String, etag: String) -> Bool {
        header.split(separator: ",").contains { candidate in
            let trimmed = candidate.trimmingCharacters(in: .whitespaces)
            return trimmed == "*" || trimmed == etag || trimmed == "W/" + etag
        }
    }

    static func ms(_ duration: Duration) -> String {
        String(
            format: "%.1f", Double(duration.components.seconds) * 1e3 + Double(duration.components.attoseconds) / 1e15)
    }

    /// An RFC 9110 IMF-fixdate (`Sun, 29 Nov 2026 01:24:12 GMT`). Built by hand: it is on every origin hit,
    /// and a `DateFormatter` per response costs more than the rest of a hit.
    public static func httpDate(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return
            "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}

extension RoutedResponse {
    mutating func redirect(_ status: HTTPResponse.Status, to location: String) {
        head = HTTPResponse(
            status: status,
            headerFields: [
                .location: location, .cacheControl: "no-store",
                .contentLength: "0",
            ])
        body = []
    }

    mutating func text(_ status: HTTPResponse.Status, _ text: String, type: String) {
        head = HTTPResponse(
            status: status,
            headerFields: [
                .contentType: type, .cacheControl: "no-store",
            ])
        body = Array(text.utf8)
    }

    mutating func apply(_ error: RenditionError, head isHead: Bool) {
        let text = RenditionRouter.errorBody(error)
        head = HTTPResponse(
            status: RenditionRouter.status(for: error.code),
            headerFields: [
                .contentType: "application/json",
                .cacheControl: "no-store",
                .contentLength: String(text.utf8.count),
            ])
        if error.code == .overloaded { head.headerFields.append(HTTPField(name: .retryAfter, value: "2")) }
        body = isHead ? [] : Array(text.utf8)
        self.error = error
    }
}

/// A request path split into percent-decoded segments, refusing what could escape a store. Public so the
/// fuzz target (`make fuzz`) can drive it directly.
public struct RequestPath: Sendable {
    /// Raw (still encoded) segments, for building redirects that keep the client's spelling.
    public let raw: [Substring]
    /// Decoded segments.
    public let decoded: [String]

    /// Splits and decodes `path` (without its query); throws `invalid_key` for a malformed escape, bytes
    /// that are not UTF-8, or an encoded `/`.
    public init(_ path: String) throws(RenditionError) {
        var segments = path.split(separator: "/", omittingEmptySubsequences: false)
        if segments.first == "" { segments.removeFirst() }
        raw = segments
        var decoded: [String] = []
        for segment in segments {
            guard let text = Self.percentDecode(segment) else {
                throw RenditionError(.invalidKey, "The path has a malformed percent-escape; encode it as %XX.")
            }
            if text.utf8.contains(UInt8(ascii: "/")) {
                throw RenditionError(.invalidKey, "The path has an encoded '/' (%2F) in a segment; use a plain '/'.")
            }
            decoded.append(text)
        }
        self.decoded = decoded
    }

    /// `%XX` decoding; `nil` for a malformed escape or bytes that are not UTF-8.
    static func percentDecode(_ text: Substring) -> String? {
        // Byte search: `contains("%")` resolves to Foundation's bridged string search, slow on every request.
        guard text.utf8.contains(UInt8(ascii: "%")) else { return String(text) }
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next(), let low = iterator.next(),
                    let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
                else { return nil }
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }
}
