import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ObjectStorage
import Prometheus
import RenditionCore
import RenditionServer
import RenditionService

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve renditions over HTTP: origin and render routes over folder stores.",
        discussion: """
            With no flags: originals from data/originals, renditions to data/renditions, presets from pipelines/, \
            on 127.0.0.1:8080. Settings come from rendition.yaml and RENDITION_* variables (see docs/configuration.md); flags win.
            """
    )

    @Option(name: .long, help: "Configuration file (default: rendition.yaml if it exists).")
    var config: String?

    @Option(name: .long, help: "Address to listen on.")
    var host: String?

    @Option(name: .shortAndLong, help: "Port to listen on.")
    var port: Int?

    @Flag(name: .long, help: "Do not write the generated sample.jpg into an empty originals folder.")
    var noSample = false

    func run() async throws {
        LineLogHandler.bootstrap(environment: ProcessInfo.processInfo.environment)
        let logger = Logger(label: "rendition")
        var configuration: RenditionConfiguration
        let plans: [String: PipelinePlan]
        do {
            configuration = try RenditionConfiguration.load(
                file: config, environment: ProcessInfo.processInfo.environment)
            if let host { configuration.host = host }
            if let port { configuration.port = port }
            plans = try configuration.loadPipelines()
        } catch {
            Console.error("rendition: cannot start:\n\(error)")
            throw ExitCode(2)
        }
        let stores: StoreSet
        do {
            stores = try configuration.makeStores(environment: ProcessInfo.processInfo.environment)
        } catch {
            Console.error("rendition: cannot start:\n\(error)")
            throw ExitCode(2)
        }
        let source = stores.source
        let renditions = stores.renditions
        if !noSample, configuration.source.kind == .fs, try await source.head(try ObjectKey("sample.jpg")) == nil {
            try await source.put(
                try ObjectKey("sample.jpg"), try SampleImage.jpeg(), options: PutOptions(contentType: "image/jpeg"))
        }
        let registry = PrometheusCollectorRegistry()
        let service = try RenditionService(
            plans: plans, source: source, renditions: renditions, settings: configuration.service,
            metricsFactory: PrometheusMetricsFactory(registry: registry), logger: logger)
        let base = "http://\(configuration.host == "0.0.0.0" ? "127.0.0.1" : configuration.host):\(configuration.port)"
        // Written straight to the file descriptor: stdout may be a pipe, and this must not wait in a buffer.
        FileHandle.standardOutput.write(
            Data(
                """
                Rendition serving \(plans.count) presets (\(plans.keys.sorted().joined(separator: ", "))) with \(service.workerCount) render threads
                  originals:  \(source)   (put photos here)
                  renditions: \(renditions)
                  try:        curl -L -o thumbnail.webp \(base)/thumbnail/sample.jpg

                """.utf8))
        let app = RenditionServer.makeApplication(
            service: service, configuration: configuration, registry: registry, logger: logger)
        do {
            try await app.runService()
        } catch {
            await stores.shutdown()
            throw error
        }
        await stores.shutdown()
    }
}
