import Foundation
import HTTPTypes
public import Hummingbird
public import Logging
import Metrics
import NIOCore
public import Prometheus
import RenditionCore
public import RenditionService

/// The Hummingbird adapter of ``RenditionRouter``: converts requests and responses, counts requests by
/// route and status, and logs one structured line per request.
public struct RenditionResponder: HTTPResponder {
    public typealias Context = BasicRequestContext

    let router: RenditionRouter
    let factory: PrometheusMetricsFactory
    let logger: Logger

    public init(
        service: RenditionService, configuration: RenditionConfiguration, registry: PrometheusCollectorRegistry,
        logger: Logger
    ) {
        self.router = RenditionRouter(
            service: service, renderPrefix: configuration.renderPrefix, publicBaseURL: configuration.publicBaseURL,
            studio: configuration.studio, metricsText: { registry.emitToString() })
        self.factory = PrometheusMetricsFactory(registry: registry)
        self.logger = logger
    }

    public func respond(to request: Request, context: Context) async throws -> Response {
        let start = ContinuousClock.now
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        let routed = await router.handle(
            RouteRequest(method: request.method.rawValue, path: request.uri.path, headers: headers))
        if let error = routed.error, routed.status >= 500 {
            logger.error(
                "request failed", metadata: ["code": "\(error.code)", "cause": "\(error.cause.map { "\($0)" } ?? "-")"])
        }
        Counter(
            label: "rendition_http_requests_total",
            dimensions: [("route", routed.route), ("status", String(routed.status))],
            factory: factory
        ).increment()
        let elapsed = ContinuousClock.now - start
        logger.info(
            "request",
            metadata: [
                "method": "\(request.method)", "path": "\(request.uri.path)", "route": "\(routed.route)",
                "preset": "\(routed.preset ?? "-")", "key": "\(routed.key ?? "-")", "status": "\(routed.status)",
                "ms":
                    "\(String(format: "%.1f", Double(elapsed.components.seconds) * 1e3 + Double(elapsed.components.attoseconds) / 1e15))",
                "cache": "\(routed.cache)",
            ])
        var fields = HTTPFields()
        for (name, value) in routed.headers {
            if let name = HTTPField.Name(name) { fields.append(HTTPField(name: name, value: value)) }
        }
        let body: ResponseBody = routed.body.isEmpty ? .init() : .init(byteBuffer: ByteBuffer(bytes: routed.body))
        return Response(status: HTTPResponse.Status(code: routed.status), headers: fields, body: body)
    }
}
