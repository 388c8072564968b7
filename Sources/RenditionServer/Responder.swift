import Foundation
import HTTPTypes
public import Hummingbird
public import Logging
import NIOCore
public import Prometheus
import RenditionCore
public import RenditionService

/// The Hummingbird adapter of ``RenditionRouter``: hands it the request head, writes its response, counts
/// requests by route and status, and logs one structured line per request.
public struct RenditionResponder: HTTPResponder {
    public typealias Context = BasicRequestContext

    let router: RenditionRouter
    let requests: CounterFamily
    let logger: Logger

    public init(
        service: RenditionService, configuration: RenditionConfiguration, registry: PrometheusCollectorRegistry,
        logger: Logger
    ) {
        self.router = RenditionRouter(
            configuration: configuration, service: service, front: .server(metricsText: { registry.emitToString() }))
        self.requests = CounterFamily(
            label: "rendition_http_requests_total", dimensions: ["route", "status"],
            factory: PrometheusMetricsFactory(registry: registry))
        self.logger = logger
    }

    public func respond(to request: Request, context: Context) async throws -> Response {
        let start = ContinuousClock.now
        var head = request.head
        // The path as Hummingbird parsed it: an absolute-form target (`http://host/path`) routes by its path.
        head.path = request.uri.path
        let routed = await router.handle(head)
        let status = routed.head.status.code
        if let error = routed.error, status >= 500 {
            logger.error(
                "request failed", metadata: ["code": "\(error.code)", "cause": "\(error.cause.map { "\($0)" } ?? "-")"])
        }
        requests.counter(routed.route, String(status)).increment()
        let elapsed = ContinuousClock.now - start
        logger.info(
            "request",
            metadata: [
                "method": "\(request.method)", "path": "\(request.uri.path)", "route": "\(routed.route)",
                "preset": "\(routed.preset ?? "-")", "key": "\(routed.key ?? "-")", "status": "\(status)",
                "ms":
                    "\(String(format: "%.1f", Double(elapsed.components.seconds) * 1e3 + Double(elapsed.components.attoseconds) / 1e15))",
                "cache": "\(routed.cache)",
            ])
        let body: ResponseBody = routed.body.isEmpty ? .init() : .init(byteBuffer: ByteBuffer(bytes: routed.body))
        return Response(status: routed.head.status, headers: routed.head.headerFields, body: body)
    }
}
