public import Hummingbird
public import Logging
public import Prometheus
public import RenditionService
import ServiceLifecycle

/// The HTTP front: origin and render routes over a ``RenditionService``.
public enum RenditionServer {
    /// An application serving `service` as `configuration` says, with its own metrics registry.
    public static func makeApplication(
        service: RenditionService, configuration: RenditionConfiguration, registry: PrometheusCollectorRegistry,
        logger: Logger
    ) -> some ApplicationProtocol {
        let responder = RenditionResponder(
            service: service, configuration: configuration, registry: registry, logger: logger)
        return Application(
            responder: responder,
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port), serverName: "rendition"),
            services: [RenderPoolService(service: service)],
            logger: logger)
    }
}

/// Stops the render pool after the HTTP server has stopped taking requests and finished its in-flight
/// ones (services shut down in reverse order of start, and the server starts last).
struct RenderPoolService: Service {
    let service: RenditionService

    func run() async throws {
        try? await gracefulShutdown()
        try await service.shutdown()
    }
}
