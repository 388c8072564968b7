import Foundation
public import Hummingbird
public import Logging
import Metrics
import NIOCore
import ObjectStorage
public import Prometheus
public import RenditionCore
public import RenditionService

/// Routes every request by its raw path: health, metrics, the render route and the origin route.
///
/// The router is hand-written on purpose: keys are arbitrary paths whose percent-escapes (`%2e%2e`,
/// `%2f`, `%00`) must be judged after decoding, in one place, before any store sees them.
public struct RenditionResponder: HTTPResponder {
    public typealias Context = BasicRequestContext

    let service: RenditionService
    let configuration: RenditionConfiguration
    let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory
    let logger: Logger

    public init(
        service: RenditionService, configuration: RenditionConfiguration, registry: PrometheusCollectorRegistry,
        logger: Logger
    ) {
        self.service = service
        self.configuration = configuration
        self.registry = registry
        self.factory = PrometheusMetricsFactory(registry: registry)
        self.logger = logger
    }

    /// What a request turned out to be, for logs and metrics.
    struct Outcome {
        var route = "other"
        var preset: String?
        var key: String?
        var cache = "-"
    }

    public func respond(to request: Request, context: Context) async throws -> Response {
        let start = ContinuousClock.now
        var outcome = Outcome()
        var response: Response
        do {
            response = try await route(request, &outcome)
        } catch let error as RenditionError {
            response = Self.error(error, head: request.method == .head)
            if HTTPEdge.status(for: error.code).code >= 500 {
                logger.error(
                    "request failed",
                    metadata: ["code": "\(error.code)", "cause": "\(error.cause.map { "\($0)" } ?? "-")"])
            }
        } catch {
            let wrapped = RenditionError(.internal, "The request failed unexpectedly.", cause: Described(error))
            logger.error("request failed", metadata: ["cause": "\(error)"])
            response = Self.error(wrapped, head: request.method == .head)
        }
        let elapsed = ContinuousClock.now - start
        Counter(
            label: "rendition_http_requests_total",
            dimensions: [("route", outcome.route), ("status", String(response.status.code))],
            factory: factory
        ).increment()
        logger.info(
            "request",
            metadata: [
                "method": "\(request.method)", "path": "\(request.uri.path)", "route": "\(outcome.route)",
                "preset": "\(outcome.preset ?? "-")", "key": "\(outcome.key ?? "-")",
                "status": "\(response.status.code)",
                "ms":
                    "\(String(format: "%.1f", Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1e3))",
                "cache": "\(outcome.cache)",
            ])
        return response
    }

    func route(_ request: Request, _ outcome: inout Outcome) async throws -> Response {
        guard request.method == .get || request.method == .head else {
            var headers = HTTPFields()
            headers[.allow] = "GET, HEAD"
            headers[.cacheControl] = "no-store"
            headers[.contentType] = "application/json"
            let error = RenditionError(RenditionError.Code("method_not_allowed"), "Only GET and HEAD are served.")
            return Response(
                status: .methodNotAllowed, headers: headers,
                body: .init(byteBuffer: ByteBuffer(string: HTTPEdge.body(for: error))))
        }
        let path = try RequestPath(request.uri.path)
        let segments = path.decoded
        switch segments.first {
        case "healthz" where segments.count == 1:
            outcome.route = "healthz"
            return Self.text(.ok, "ok\n", type: "text/plain; charset=utf-8")
        case "readyz" where segments.count == 1:
            outcome.route = "readyz"
            do {
                try await service.checkReady()
            } catch {
                // Not ready is a state, not a gateway fault: 503 tells load balancers to route elsewhere.
                return Self.error(RenditionError(.overloaded, "Not ready: \(error.message)", cause: error), head: false)
            }
            return Self.text(
                .ok, "ready: \(service.plans.count) presets, stores reachable\n", type: "text/plain; charset=utf-8")
        case "metrics" where segments.count == 1:
            outcome.route = "metrics"
            return Self.text(.ok, registry.emitToString(), type: "text/plain; version=0.0.4; charset=utf-8")
        case "", nil:
            outcome.route = "index"
            return Self.text(.ok, index(), type: "text/plain; charset=utf-8")
        case configuration.renderPrefix:
            outcome.route = "render"
            guard segments.count >= 3 else { throw notFound() }
            outcome.preset = segments[1]
            outcome.key = segments[2...].joined(separator: "/")
            return try await render(
                preset: segments[1], key: segments[2...].joined(separator: "/"), raw: path.raw[1...], &outcome)
        default:
            outcome.route = "origin"
            guard segments.count >= 2 else { throw notFound() }
            outcome.preset = segments[0]
            outcome.key = segments[1...].joined(separator: "/")
            return try await origin(
                request, preset: segments[0], key: segments[1...].joined(separator: "/"), raw: path.raw[...], &outcome)
        }
    }

    /// Origin: the stored rendition (200/304), or a 307 to the render route that no cache may keep.
    func origin(_ request: Request, preset: String, key: String, raw: ArraySlice<Substring>, _ outcome: inout Outcome)
        async throws -> Response
    {
        let address = try service.address(preset: preset, key: key)
        let conditional = request.headers[.ifNoneMatch]
        if request.method == .head || conditional != nil {
            guard let metadata = try await service.renditionMetadata(address) else {
                outcome.cache = "miss"
                return Self.redirect(
                    .temporaryRedirect, to: "/\(configuration.renderPrefix)/" + raw.joined(separator: "/"))
            }
            var headers = Self.headers(for: metadata, plan: address.plan)
            if let conditional, Self.matches(conditional, etag: metadata.etag) {
                outcome.cache = "not-modified"
                headers[.contentLength] = nil
                return Response(status: .notModified, headers: headers)
            }
            if request.method == .head {
                outcome.cache = "hit"
                return Response(status: .ok, headers: headers)
            }
        }
        guard let object = try await service.rendition(address) else {
            outcome.cache = "miss"
            return Self.redirect(.temporaryRedirect, to: "/\(configuration.renderPrefix)/" + raw.joined(separator: "/"))
        }
        outcome.cache = "hit"
        return Response(
            status: .ok, headers: Self.headers(for: object.metadata, plan: address.plan),
            body: .init(byteBuffer: ByteBuffer(bytes: object.body)))
    }

    /// Render: make and store the rendition, then 301 back to its public URL. Never redirects on failure.
    func render(preset: String, key: String, raw: ArraySlice<Substring>, _ outcome: inout Outcome) async throws
        -> Response
    {
        let address = try service.address(preset: preset, key: key)
        let result = try await service.render(address)
        var response = Self.redirect(
            .movedPermanently, to: configuration.publicBaseURL + "/" + raw.joined(separator: "/"))
        switch result {
        case .rendered(_, let timings):
            outcome.cache = "rendered"
            response.headers[.init("Server-Timing")!] =
                "load;dur=\(Self.ms(timings.load)), process;dur=\(Self.ms(timings.process)), store;dur=\(Self.ms(timings.store))"
        case .existing:
            outcome.cache = "existing"
        }
        return response
    }

    func notFound() -> RenditionError {
        RenditionError(.notFound, "Nothing here: ask for /{preset}/{key}, such as /thumbnail/sample.jpg.")
    }

    func index() -> String {
        let presets = service.plans.keys.sorted()
        var text = "Rendition: image renditions on first request.\n\n"
        text += "GET /{preset}/{key} returns the rendition of the original at {key} (rendered on first request).\n"
        text += "Presets: \(presets.joined(separator: ", "))\n"
        if let first = presets.first { text += "Try: /\(first)/sample.jpg\n" }
        text += "\nAlso: /healthz, /readyz, /metrics\n"
        return text
    }

    // MARK: Responses

    static func headers(for metadata: ObjectMetadata, plan: PipelinePlan) -> HTTPFields {
        var headers = HTTPFields()
        headers[.contentType] = metadata.contentType
        headers[.cacheControl] = metadata.cacheControl ?? plan.cacheControl
        headers[.eTag] = metadata.etag
        headers[.lastModified] = httpDate(metadata.lastModified)
        headers[.contentLength] = String(metadata.size)
        return headers
    }

    static func matches(_ header: String, etag: String) -> Bool {
        header.split(separator: ",").contains { candidate in
            let trimmed = candidate.trimmingCharacters(in: .whitespaces)
            return trimmed == "*" || trimmed == etag || trimmed == "W/" + etag
        }
    }

    static func redirect(_ status: HTTPResponse.Status, to location: String) -> Response {
        var headers = HTTPFields()
        headers[.location] = location
        headers[.cacheControl] = "no-store"
        headers[.contentLength] = "0"
        return Response(status: status, headers: headers)
    }

    static func text(_ status: HTTPResponse.Status, _ text: String, type: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func error(_ error: RenditionError, head: Bool) -> Response {
        let status = HTTPEdge.status(for: error.code)
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.cacheControl] = "no-store"
        if error.code == .overloaded { headers[.retryAfter] = "2" }
        let body = HTTPEdge.body(for: error)
        headers[.contentLength] = String(body.utf8.count)
        return Response(
            status: status, headers: headers, body: head ? .init() : .init(byteBuffer: ByteBuffer(string: body)))
    }

    static func ms(_ duration: Duration) -> String {
        String(
            format: "%.1f", Double(duration.components.seconds) * 1e3 + Double(duration.components.attoseconds) / 1e15)
    }

    static func httpDate(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.string(from: date)
    }
}

/// Any error as a `Sendable` cause.
struct Described: Error, Sendable, CustomStringConvertible {
    let description: String
    init(_ error: any Error) { description = "\(error)" }
}
