public import AsyncHTTPClient
public import Foundation
import HTTPTypes
public import Logging
internal import NIOCore
internal import NIOHTTP1
public import RenditionCore
public import RenditionService

/// One invocation as the Runtime API hands it over.
public struct Invocation: Sendable {
    public let requestID: String
    /// When Lambda will stop the invocation.
    public let deadline: Date
    public let traceID: String?
    public let event: [UInt8]
}

/// The Lambda Runtime API (2018-06-01): next invocation, response, invocation error, init error.
public struct RuntimeAPI: Sendable {
    let base: String
    let client: HTTPClient

    /// `endpoint` is `AWS_LAMBDA_RUNTIME_API` (`host:port`).
    public init(endpoint: String, client: HTTPClient) {
        self.base = "http://\(endpoint)/2018-06-01/runtime"
        self.client = client
    }

    /// Long-polls for the next invocation (no timeout: Lambda freezes the process while it waits).
    public func next() async throws -> Invocation {
        let response = try await client.execute(HTTPClientRequest(url: "\(base)/invocation/next"), timeout: .hours(24))
        guard response.status == .ok, let id = response.headers.first(name: "Lambda-Runtime-Aws-Request-Id") else {
            throw RuntimeError(description: "the Runtime API answered \(response.status.code) to invocation/next")
        }
        let milliseconds =
            response.headers.first(name: "Lambda-Runtime-Deadline-Ms").flatMap(Double.init)
            ?? (Date().timeIntervalSince1970 * 1000 + 30_000)
        let body = try await response.body.collect(upTo: 6 * 1024 * 1024 + 1024)
        return Invocation(
            requestID: id, deadline: Date(timeIntervalSince1970: milliseconds / 1000),
            traceID: response.headers.first(name: "Lambda-Runtime-Trace-Id"), event: Array(buffer: body))
    }

    public func respond(_ id: String, _ body: [UInt8]) async throws {
        try await post("\(base)/invocation/\(id)/response", body, errorType: nil)
    }

    public func fail(_ id: String, type: String, message: String) async throws {
        try await post(
            "\(base)/invocation/\(id)/error", Self.errorDocument(type: type, message: message), errorType: type)
    }

    public func failInit(type: String, message: String) async throws {
        try await post("\(base)/init/error", Self.errorDocument(type: type, message: message), errorType: type)
    }

    static func errorDocument(type: String, message: String) -> [UInt8] {
        let object = ["errorType": type, "errorMessage": message]
        return [UInt8]((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data())
    }

    private func post(_ url: String, _ body: [UInt8], errorType: String?) async throws {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let errorType { request.headers.add(name: "Lambda-Runtime-Function-Error-Type", value: errorType) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await client.execute(request, timeout: .seconds(30))
        _ = try await response.body.collect(upTo: 64 * 1024)
        guard (200..<300).contains(Int(response.status.code)) else {
            throw RuntimeError(description: "the Runtime API answered \(response.status.code) to \(url)")
        }
    }
}

public struct RuntimeError: Error, Sendable, CustomStringConvertible {
    public let description: String
}

/// The render function's loop: take an invocation, answer it through ``RenditionRouter`` exactly as the
/// server would, repeat. A bad event fails that invocation only.
public struct FunctionLoop: Sendable {
    public let api: RuntimeAPI
    public let router: RenditionRouter
    public let logger: Logger
    /// What to do with S3 events from the originals bucket; `nil` refuses them as invalid events.
    public var originals: OriginalEvents?
    /// Time kept back from the invocation's deadline to answer 504 before Lambda kills the process.
    public var margin: Duration = .milliseconds(800)

    public init(api: RuntimeAPI, router: RenditionRouter, logger: Logger, originals: OriginalEvents? = nil) {
        self.api = api
        self.router = router
        self.logger = logger
        self.originals = originals
    }

    /// Answers one invocation.
    public func handle(_ invocation: Invocation) async throws {
        let work: Work
        do {
            work = try await read(invocation)
        } catch {
            logger.warning("malformed event", metadata: ["request": "\(invocation.requestID)", "reason": "\(error)"])
            try await api.fail(
                invocation.requestID, type: "InvalidEvent", message: "Malformed event: \(error.description)")
            return
        }
        guard case .http(let request, let shape) = work else {
            if case .originals(let outcome) = work { try await answer(outcome, invocation) }
            return
        }
        let remaining = invocation.deadline.timeIntervalSinceNow
        let deadline = Deadline.after(.milliseconds(Int64(remaining * 1000)) - margin)
        let routed = await router.handle(request, deadline: deadline)
        logger.info(
            "invocation",
            metadata: [
                "request": "\(invocation.requestID)", "path": "\(request.path ?? "")",
                "status": "\(routed.head.status.code)",
                "cache": "\(routed.cache)",
            ])
        try await api.respond(invocation.requestID, HTTPEvent.response(routed, shape: shape))
    }

    /// Purges the renditions of the originals an S3 event names; a failed purge fails the invocation, so
    /// Lambda retries the event.
    /// An invocation's event: a request for the router, or an S3 event already acted on.
    enum Work {
        case http(HTTPRequest, HTTPEvent.Shape)
        case originals(OriginalEvents.Outcome)
    }

    func read(_ invocation: Invocation) async throws(HTTPEvent.Malformed) -> Work {
        guard let event = try S3Event.parse(invocation.event) else {
            let (request, shape) = try HTTPEvent.parse(invocation.event)
            return .http(request, shape)
        }
        guard let originals else {
            throw HTTPEvent.Malformed(
                description:
                    "an S3 event, but this function does not handle them (its source store is not an S3 bucket, or it overlaps the rendition store)"
            )
        }
        return .originals(try await originals.handle(event, logger: logger))
    }

    func answer(_ outcome: OriginalEvents.Outcome, _ invocation: Invocation) async throws {
        logger.info(
            "s3 event",
            metadata: [
                "request": "\(invocation.requestID)", "purged": "\(outcome.purged.count)",
                "ignored": "\(outcome.ignored)", "failed": "\(outcome.failures.count)",
            ])
        guard outcome.succeeded else {
            try await api.fail(invocation.requestID, type: "PurgeFailed", message: outcome.failureMessage)
            return
        }
        try await api.respond(invocation.requestID, outcome.document)
    }

    /// Runs until the process is stopped. Returns (with the error) only when the Runtime API is unreachable.
    public func run() async throws {
        while true {
            let invocation = try await api.next()
            if let trace = invocation.traceID { setenv("_X_AMZN_TRACE_ID", trace, 1) }
            do {
                try await handle(invocation)
            } catch {
                logger.error(
                    "could not answer an invocation",
                    metadata: ["request": "\(invocation.requestID)", "error": "\(error)"])
            }
        }
    }
}
