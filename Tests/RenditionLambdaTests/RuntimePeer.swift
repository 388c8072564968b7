import Foundation
import Hummingbird
import NIOCore
import TestSupport

/// A Lambda Runtime API peer: the documented endpoints of `2018-06-01/runtime`, on a loopback port.
actor RuntimePeer {
    enum Result: Equatable {
        case response([UInt8])
        case error(type: String, body: [UInt8])
    }

    private var queue: [(id: String, event: [UInt8])] = []
    private var waiting: [CheckedContinuation<(id: String, event: [UInt8]), Never>] = []
    private var results: [String: Result] = [:]
    private var resultWaiters: [String: [CheckedContinuation<Result, Never>]] = [:]
    private(set) var initError: (type: String, body: [UInt8])?
    private var initWaiters: [CheckedContinuation<Void, Never>] = []
    private var counter = 0

    /// Queues an event and returns its request id.
    func invoke(_ event: [UInt8]) -> String {
        counter += 1
        let id = "req-\(counter)"
        if waiting.isEmpty {
            queue.append((id, event))
        } else {
            waiting.removeFirst().resume(returning: (id, event))
        }
        return id
    }

    private var closed = false

    /// The next event, or `nil` once the peer is closed.
    func next() async -> (id: String, event: [UInt8])? {
        if !queue.isEmpty { return queue.removeFirst() }
        if closed { return nil }
        let next = await withCheckedContinuation { waiting.append($0) }
        return next.id.isEmpty ? nil : next
    }

    /// Releases every long-poll (the server cannot stop while one is pending), and answers later polls at once.
    func close() {
        closed = true
        for waiter in waiting { waiter.resume(returning: ("", [])) }
        waiting = []
    }

    func record(_ id: String, _ result: Result) {
        guard results[id] == nil else { return }
        results[id] = result
        for waiter in resultWaiters.removeValue(forKey: id) ?? [] { waiter.resume(returning: result) }
    }

    /// The answer to invocation `id`, or an error result after `timeout` (so a dead function fails the test
    /// instead of hanging it).
    func result(_ id: String, timeout: Duration = .seconds(90)) async -> Result {
        if let result = results[id] { return result }
        let timer = Task {
            try await Task.sleep(for: timeout)
            self.record(id, .error(type: "Timeout", body: Array("no answer within \(timeout)".utf8)))
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { resultWaiters[id, default: []].append($0) }
    }

    func recordInitError(_ type: String, _ body: [UInt8]) {
        initError = (type, body)
        for waiter in initWaiters { waiter.resume() }
        initWaiters = []
    }

    /// The Hummingbird router serving the Runtime API.
    nonisolated func router() -> Router<BasicRequestContext> {
        let router = Router()
        let group = router.group("2018-06-01/runtime")
        group.get("invocation/next") { _, _ -> Response in
            guard let (id, event) = await self.next() else { return Response(status: .gone) }
            var headers = HTTPFields()
            headers[.init("Lambda-Runtime-Aws-Request-Id")!] = id
            headers[.init("Lambda-Runtime-Deadline-Ms")!] = String(Int64((Date().timeIntervalSince1970 + 30) * 1000))
            headers[.init("Lambda-Runtime-Trace-Id")!] = "Root=1-00000000-000000000000000000000000;Sampled=0"
            headers[.init("Lambda-Runtime-Invoked-Function-Arn")!] =
                "arn:aws:lambda:us-east-1:123456789012:function:rendition"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: event)))
        }
        group.post("invocation/:id/response") { request, context -> HTTPResponse.Status in
            let body = try await request.body.collect(upTo: 16 * 1024 * 1024)
            await self.record(context.parameters.get("id") ?? "", .response(Array(buffer: body)))
            return .accepted
        }
        group.post("invocation/:id/error") { request, context -> HTTPResponse.Status in
            let body = try await request.body.collect(upTo: 1024 * 1024)
            let type = request.headers[.init("Lambda-Runtime-Function-Error-Type")!] ?? ""
            await self.record(context.parameters.get("id") ?? "", .error(type: type, body: Array(buffer: body)))
            return .accepted
        }
        group.post("init/error") { request, _ -> HTTPResponse.Status in
            let body = try await request.body.collect(upTo: 1024 * 1024)
            await self.recordInitError(
                request.headers[.init("Lambda-Runtime-Function-Error-Type")!] ?? "", Array(buffer: body))
            return .accepted
        }
        return router
    }
}

/// Real event shapes, as the AWS documentation shows them.
enum Events {
    /// API Gateway HTTP API, payload format 2.0 (function URLs send the same shape).
    static func v2(_ method: String, _ rawPath: String, headers: [String: String] = [:]) -> [UInt8] {
        let object: [String: Any] = [
            "version": "2.0", "routeKey": "$default", "rawPath": rawPath, "rawQueryString": "",
            "headers": [
                "accept": "image/webp,*/*", "host": "abcdefg.lambda-url.us-east-1.on.aws", "user-agent": "curl/8.0",
            ].merging(headers) { $1 },
            "requestContext": [
                "accountId": "123456789012", "apiId": "abcdefg", "domainName": "abcdefg.lambda-url.us-east-1.on.aws",
                "http": [
                    "method": method, "path": rawPath, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1",
                    "userAgent": "curl/8.0",
                ],
                "requestId": UUID().uuidString, "routeKey": "$default", "stage": "$default",
                "time": "29/Nov/2026:00:00:00 +0000",
                "timeEpoch": 1_795_000_000_000,
            ],
            "isBase64Encoded": false,
        ]
        return [UInt8](try! JSONSerialization.data(withJSONObject: object))
    }

    /// API Gateway REST API, payload format 1.0 (the path arrives decoded).
    static func v1(_ method: String, _ path: String) -> [UInt8] {
        let object: [String: Any] = [
            "version": "1.0", "resource": "/{proxy+}", "path": path, "httpMethod": method,
            "headers": ["Accept": "*/*", "Host": "api.example.com"], "multiValueHeaders": ["Accept": ["*/*"]],
            "queryStringParameters": NSNull(),
            "requestContext": ["stage": "prod", "requestId": UUID().uuidString, "httpMethod": method],
            "body": NSNull(), "isBase64Encoded": false,
        ]
        return [UInt8](try! JSONSerialization.data(withJSONObject: object))
    }
}
