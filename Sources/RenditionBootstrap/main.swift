import AsyncHTTPClient
import Foundation
import Logging
import RenditionCore
import RenditionLambda
import RenditionService

// `bootstrap`: Rendition's render function as a Lambda custom runtime (provided.al2023).
// Configuration and pipelines are read once at init; the S3 client and render pool live across invocations.

LineLogHandler.bootstrap(environment: ProcessInfo.processInfo.environment)
let logger = Logger(label: "rendition-lambda")
let environment = ProcessInfo.processInfo.environment

guard let endpoint = environment["AWS_LAMBDA_RUNTIME_API"], !endpoint.isEmpty else {
    logger.critical("AWS_LAMBDA_RUNTIME_API is not set: bootstrap runs inside Lambda (or next to a Runtime API peer)")
    exit(1)
}
if let root = environment["LAMBDA_TASK_ROOT"] { _ = FileManager.default.changeCurrentDirectoryPath(root) }

let client = HTTPClient(eventLoopGroupProvider: .singleton)
let api = RuntimeAPI(endpoint: endpoint, client: client)

/// Closes the Runtime API client before exiting.
func closeClient() async {
    do { try await client.shutdown() } catch { logger.debug("client shutdown: \(error)") }
}

/// Builds everything an invocation needs, or explains why it cannot.
func initialise() throws -> (RenditionRouter, StoreSet, OriginalEvents?) {
    let configuration = try RenditionConfiguration.load(file: nil, environment: environment)
    let plans = try configuration.loadPipelines()
    let stores = try configuration.makeStores(environment: environment)
    let service = try RenditionService(
        plans: plans, source: stores.source, renditions: stores.renditions, settings: configuration.service,
        logger: logger)
    var originals: OriginalEvents?
    if let overlap = configuration.storeOverlap {
        logger.warning("S3 events are refused: a purge could delete originals", metadata: ["overlap": "\(overlap)"])
    } else if configuration.source.kind == .s3 {
        originals = OriginalEvents(
            bucket: configuration.source.bucket, prefix: configuration.source.prefix,
            purger: Purger(plans: plans, source: stores.source, renditions: stores.renditions),
            invalidator: try configuration.makeInvalidator(environment: environment, client: client))
    }
    return (RenditionRouter(configuration: configuration, service: service, front: .function), stores, originals)
}

let router: RenditionRouter
let stores: StoreSet
let originals: OriginalEvents?
do {
    (router, stores, originals) = try initialise()
} catch {
    logger.critical("init failed", metadata: ["error": "\(error)"])
    do {
        try await api.failInit(type: "InitError", message: "\(error)")
    } catch {
        logger.critical("cannot reach the Lambda Runtime API at \(endpoint): \(error)")
    }
    await closeClient()
    exit(1)
}

do {
    try await FunctionLoop(api: api, router: router, logger: logger, originals: originals).run()
} catch {
    logger.critical("cannot reach the Lambda Runtime API at \(endpoint): \(error)")
    await stores.shutdown()
    await closeClient()
    exit(1)
}
