import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import RenditionLambda
import RenditionService
import TestSupport
import Testing

/// The built `bootstrap` binary.
var bootstrapBinary: URL { builtBinary("bootstrap") }

/// A folder with originals and the shipped presets, where `bootstrap` runs as in `/var/task`.
final class TaskRoot: @unchecked Sendable {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("rendition-lambda-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: url.appendingPathComponent("data/originals"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: Repository.root().appendingPathComponent("pipelines"), to: url.appendingPathComponent("pipelines"))
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func original(_ key: String, _ bytes: [UInt8]) throws {
        let file = url.appendingPathComponent("data/originals/\(key)")
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: file)
    }
}

/// Runs `bootstrap` against a Runtime API peer on `port`.
func startBootstrap(
    port: Int, root: TaskRoot, binary: URL = bootstrapBinary, extra: [String: String] = [:], drain: Bool = true
) throws -> (
    Process, Pipe
) {
    let process = Process()
    process.executableURL = binary
    var environment = [
        "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:\(port)", "LAMBDA_TASK_ROOT": root.url.path, "PATH": "/usr/bin:/bin",
    ]
    for (key, value) in extra { environment[key] = value }
    process.environment = environment
    let err = Pipe()
    process.standardError = err
    process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
    try process.run()
    guard drain else { return (process, err) }
    // Drain standard error into a log file next to the task root (a full pipe would block the function).
    let log = root.url.appendingPathComponent("bootstrap-\(process.processIdentifier).log")
    FileManager.default.createFile(atPath: log.path, contents: nil)
    let handle = try FileHandle(forWritingTo: log)
    err.fileHandleForReading.readabilityHandler = { pipe in
        let data = pipe.availableData
        if data.isEmpty { pipe.readabilityHandler = nil } else { handle.write(data) }
    }
    return (process, err)
}

func json(_ bytes: [UInt8]) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
}

@Suite(.serialized) struct BootstrapTests {
    @Test func answersInvocationsLikeTheServer() async throws {
        let root = try TaskRoot()
        try root.original("photos/cat.jpg", try Fixtures.jpeg(Fixtures.photo(width: 1600, height: 1200)))
        try root.original(
            "broken.jpg", Fixtures.truncated(try Fixtures.jpeg(Fixtures.photo(width: 800, height: 600)), keeping: 0.4))
        let peer = RuntimePeer()
        let app = Application(router: peer.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let (process, _) = try startBootstrap(port: client.port!, root: root)
            defer {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
            defer { Task { await peer.close() } }

            // Success: render, store, 301 back with no-store (payload 2.0).
            let rendered = await peer.result(await peer.invoke(Events.v2("GET", "/_render/thumbnail/photos/cat.jpg")))
            guard case .response(let body) = rendered else {
                Issue.record("expected a response, got \(rendered)"); return
            }
            let answer = try json(body)
            #expect(answer["statusCode"] as? Int == 301)
            let headers = try #require(answer["headers"] as? [String: String])
            #expect(headers["Location"] == "/thumbnail/photos/cat.jpg" && headers["Cache-Control"] == "no-store")
            #expect(
                FileManager.default.fileExists(
                    atPath: root.url.appendingPathComponent("data/renditions/thumbnail/photos/cat.jpg").path))

            // The origin route through a function URL: the image, base64.
            guard
                case .response(let hitBody) = await peer.result(
                    await peer.invoke(Events.v2("GET", "/thumbnail/photos/cat.jpg")))
            else {
                Issue.record("expected a response"); return
            }
            let hit = try json(hitBody)
            #expect(hit["statusCode"] as? Int == 200 && hit["isBase64Encoded"] as? Bool == true)
            let image = try Fixtures.decode([UInt8](try #require(Data(base64Encoded: hit["body"] as? String ?? ""))))
            #expect(image.width == 400)

            // Unknown preset, corrupt original, unknown route: statuses as the server answers them.
            for (path, status, code) in [
                ("/_render/nosuch/photos/cat.jpg", 404, "unknown_preset"),
                ("/_render/thumbnail/broken.jpg", 422, "corrupt_image"),
                ("/_render/thumbnail/%2e%2e/x.jpg", 400, "invalid_key"), ("/nothing", 404, "not_found"),
            ] {
                guard case .response(let errorBody) = await peer.result(await peer.invoke(Events.v2("GET", path)))
                else {
                    Issue.record("expected a response for \(path)"); continue
                }
                let error = try json(errorBody)
                #expect(error["statusCode"] as? Int == status, "\(path)")
                #expect((error["body"] as? String)?.contains("\"code\": \"\(code)\"") == true, "\(path)")
                #expect((error["headers"] as? [String: String])?["Cache-Control"] == "no-store")
            }

            // REST API (payload 1.0).
            guard
                case .response(let restBody) = await peer.result(
                    await peer.invoke(Events.v1("GET", "/_render/avatar/photos/cat.jpg")))
            else {
                Issue.record("expected a response"); return
            }
            let rest = try json(restBody)
            #expect(rest["statusCode"] as? Int == 301 && rest["multiValueHeaders"] != nil)

            // Malformed events fail their invocation only; the loop goes on.
            for bad in [Array("not json".utf8), Array("{\"hello\": 1}".utf8), Array("[1, 2]".utf8)] {
                let result = await peer.result(await peer.invoke(bad))
                guard case .error(let type, let errorBody) = result else {
                    Issue.record("expected an invocation error"); continue
                }
                #expect(type == "InvalidEvent")
                #expect(String(decoding: errorBody, as: UTF8.self).contains("Malformed event"))
            }

            // Many invocations in one process.
            var ids: [String] = []
            for index in 0..<30 {
                ids.append(
                    await peer.invoke(
                        Events.v2("GET", index % 2 == 0 ? "/healthz" : "/_render/thumbnail/photos/cat.jpg")))
            }
            for id in ids {
                guard case .response(let answerBody) = await peer.result(id) else {
                    Issue.record("missing answer"); continue
                }
                #expect([200, 301].contains(try json(answerBody)["statusCode"] as? Int ?? 0))
            }
            #expect(process.isRunning)
        }
    }

    /// An S3 event notification for an original (as S3 sends it: the key URL-encoded, `+` for spaces).
    static func s3Event(_ name: String, bucket: String, key: String) -> [UInt8] {
        let event: [String: Any] = [
            "Records": [
                [
                    "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1", "eventName": name,
                    "s3": [
                        "bucket": ["name": bucket, "arn": "arn:aws:s3:::\(bucket)"], "object": ["key": key, "size": 1],
                    ],
                ]
            ]
        ]
        return [UInt8](try! JSONSerialization.data(withJSONObject: event))
    }

    @Test func s3EventsPurgeTheRenditionsOfAReplacedOrDeletedOriginal() async throws {
        let root = try TaskRoot()
        let originals = try Moto.makeBucket(.originals)
        let renditions = try Moto.makeBucket()
        _ = try Moto.boto3(
            """
            for key in ["thumbnail/users/42/me and you.jpg", "avatar/users/42/me and you.jpg", "thumbnail/users/43/x.jpg"]:
                s3.put_object(Bucket="\(renditions)", Key=key, Body=b"x")
            s3.put_object(Bucket="\(originals)", Key="users/43/x.jpg", Body=b"x")
            """)
        @Sendable func remaining() throws -> String {
            try Moto.boto3(
                "print(sorted(o['Key'] for o in s3.list_objects_v2(Bucket='\(renditions)').get('Contents', [])))"
            ).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let environment = try Moto.serviceEnvironment(originals: originals, renditions: renditions)
        let peer = RuntimePeer()
        let app = Application(router: peer.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let (process, _) = try startBootstrap(port: client.port!, root: root, extra: environment)
            defer {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
            defer { Task { await peer.close() } }

            let removed = await peer.result(
                await peer.invoke(
                    Self.s3Event("ObjectRemoved:Delete", bucket: originals, key: "users/42/me+and+you.jpg")))
            guard case .response(let body) = removed else {
                Issue.record("expected a response, got \(removed)"); return
            }
            let answer = try json(body)
            #expect(
                answer["purged"] as? [String] == [
                    "/avatar/users/42/me%20and%20you.jpg", "/thumbnail/users/42/me%20and%20you.jpg",
                ])
            #expect(try remaining() == "['thumbnail/users/43/x.jpg']")

            // Another bucket's event is ignored (and logged); nothing is deleted.
            let other = await peer.result(
                await peer.invoke(Self.s3Event("ObjectCreated:Put", bucket: "someone-else", key: "users/43/x.jpg")))
            guard case .response(let otherBody) = other else {
                Issue.record("expected a response, got \(other)"); return
            }
            #expect(try json(otherBody)["ignored"] as? Int == 1)
            #expect(try remaining() == "['thumbnail/users/43/x.jpg']")

            // Keys that cannot name an original, and records that are not S3's: invalid events, nothing deleted.
            let long = String(repeating: "k", count: 1025)
            for (event, message) in [
                (Self.s3Event("ObjectRemoved:Delete", bucket: originals, key: "users/%00/x.jpg"), "control characters"),
                (Self.s3Event("ObjectRemoved:Delete", bucket: originals, key: "users/..%2F43/x.jpg"), "'..' segment"),
                (Self.s3Event("ObjectRemoved:Delete", bucket: originals, key: long), "longer than 1024 bytes"),
                (Self.s3Event("ObjectRemoved:Delete", bucket: originals, key: "users/%ZZ.jpg"), "not URL-encoded"),
                (
                    Array(#"{"Records": [{"eventSource": "aws:s3", "eventName": "ObjectRemoved:Delete"}]}"#.utf8),
                    "s3.object.key"
                ),
            ] {
                let result = await peer.result(await peer.invoke(event))
                guard case .error(let type, let errorBody) = result else {
                    Issue.record("expected an invocation error for \(message), got \(result)"); continue
                }
                #expect(type == "InvalidEvent")
                #expect(String(decoding: errorBody, as: UTF8.self).contains(message), "\(message)")
            }
            #expect(try remaining() == "['thumbnail/users/43/x.jpg']")

            // Replaced (created again): its renditions go too. And the loop goes on serving requests.
            let replaced = await peer.result(
                await peer.invoke(Self.s3Event("ObjectCreated:Put", bucket: originals, key: "users/43/x.jpg")))
            guard case .response = replaced else {
                Issue.record("expected a response, got \(replaced)"); return
            }
            #expect(try remaining() == "[]")
            guard case .response(let health) = await peer.result(await peer.invoke(Events.v2("GET", "/healthz")))
            else {
                Issue.record("expected a response"); return
            }
            #expect(try json(health)["statusCode"] as? Int == 200)
        }
    }

    /// Twenty originals with seven renditions each (three presets, `card` in five forms): each original's
    /// `ObjectRemoved` event purges exactly its seven, reports exactly those, and leaves every other one (issue 26:
    /// the optimized purge dropped some of an original's renditions, or trapped the invocation).
    @Test func s3EventPurgesAreExactForEveryOriginal() async throws {
        let root = try TaskRoot()
        let originals = try Moto.makeBucket(.originals)
        let renditions = try Moto.makeBucket()
        let segments = ["thumbnail", "avatar", "card@avif", "card@webp", "card@jpeg", "card@200w@webp", "card@2x@avif"]
        let keys = (0..<20).map { "users/\($0)/me.jpg" }
        _ = try Moto.boto3(
            """
            for n in range(20):
                for segment in \(segments):
                    s3.put_object(Bucket="\(renditions)", Key=f"{segment}/users/{n}/me.jpg", Body=b"x")
                s3.put_object(Bucket="\(renditions)", Key=f"thumbnail/users/{n}/me.jpg.bak", Body=b"x")
            """)
        @Sendable func remaining() throws -> Set<String> { Set(try Moto.keys(renditions)) }
        let environment = try Moto.serviceEnvironment(originals: originals, renditions: renditions)
        let peer = RuntimePeer()
        let app = Application(router: peer.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let (process, _) = try startBootstrap(port: client.port!, root: root, extra: environment)
            defer {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
            defer { Task { await peer.close() } }
            var left = try remaining()
            #expect(left.count == 20 * 8)
            for key in keys {
                let result = await peer.result(
                    await peer.invoke(Self.s3Event("ObjectRemoved:Delete", bucket: originals, key: key)))
                guard case .response(let body) = result else {
                    Issue.record("\(key): expected a response, got \(result)"); return
                }
                let expected = segments.map { "\($0)/\(key)" }
                #expect(
                    (try json(body)["purged"] as? [String])?.sorted() == expected.map { "/\($0)" }.sorted(), "\(key)")
                left.subtract(expected)
                #expect(try remaining() == left, "\(key)")
            }
            #expect(left == Set(keys.map { "thumbnail/\($0).bak" }))
            #expect(process.isRunning)
        }
    }

    @Test func s3EventKeysAreDecodedExactly() throws {
        #expect(S3Event.decodeKey("users/42/me+and+you.jpg") == "users/42/me and you.jpg")
        #expect(S3Event.decodeKey("a%2Bb+c%25.jpg") == "a+b c%.jpg", "a literal + arrives as %2B")
        #expect(S3Event.decodeKey("%E6%97%A5%E6%9C%AC/%F0%9F%98%80.jpg") == "日本/😀.jpg")
        #expect(S3Event.decodeKey("bad%G1.jpg") == nil)
        #expect(try S3Event.parse(Events.v2("GET", "/healthz")) == nil, "an HTTP event is not an S3 event")
        let event = try #require(try S3Event.parse(Self.s3Event("ObjectRemoved:Delete", bucket: "b", key: "x+y.jpg")))
        #expect(event.records == [S3Event.Record(eventName: "ObjectRemoved:Delete", bucket: "b", key: "x y.jpg")])
    }

    @Test func anInitFailureIsReportedThroughTheInitErrorEndpoint() async throws {
        let root = try TaskRoot()
        try "stages:\n  - resize: {width: -5}\n  - encode: {format: webp}\n".write(
            to: root.url.appendingPathComponent("pipelines/broken.yaml"), atomically: true, encoding: .utf8)
        let peer = RuntimePeer()
        let app = Application(router: peer.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let (process, _) = try startBootstrap(port: client.port!, root: root)
            #expect(await process.exited() != 0)
            let reported = try #require(await peer.initError)
            #expect(reported.type == "InitError")
            #expect(String(decoding: reported.body, as: UTF8.self).contains("broken.yaml:2:21: resize.width"))
        }
    }

    @Test func anUnreachableRuntimeAPIExitsWithAClearLine() throws {
        let root = try TaskRoot()
        let (process, err) = try startBootstrap(port: freePort(), root: root, drain: false)
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus != 0)
        #expect(text.contains("cannot reach the Lambda Runtime API"))
    }

    @Test func eventShapes() throws {
        let (v2, shape2) = try HTTPEvent.parse(Events.v2("HEAD", "/a/b%20c.jpg", headers: ["If-None-Match": "\"x\""]))
        #expect(
            shape2 == .v2 && v2.method == .head && v2.path == "/a/b%20c.jpg"
                && v2.headerFields[.ifNoneMatch] == "\"x\"")
        let (v1, shape1) = try HTTPEvent.parse(Events.v1("GET", "/a/b c.jpg"))
        #expect(shape1 == .v1 && v1.path == "/a/b%20c.jpg")
        #expect(throws: HTTPEvent.Malformed.self) { try HTTPEvent.parse(Array("{\"version\": \"2.0\"}".utf8)) }
    }

    @Test func repeatedHeadersSurviveBothShapes() throws {
        // REST APIs (1.0) list every value in multiValueHeaders and only the last in headers.
        let event: [String: Any] = [
            "version": "1.0", "path": "/a/b.jpg", "httpMethod": "GET",
            "headers": ["If-None-Match": "\"b\""], "multiValueHeaders": ["If-None-Match": ["\"a\"", "\"b\""]],
        ]
        let (v1, _) = try HTTPEvent.parse([UInt8](try JSONSerialization.data(withJSONObject: event)))
        #expect(v1.headerFields[values: .ifNoneMatch] == ["\"a\"", "\"b\""])
        // HTTP APIs (2.0) join them with commas already.
        let (v2, _) = try HTTPEvent.parse(Events.v2("GET", "/a/b.jpg", headers: ["if-none-match": "\"a\",\"b\""]))
        #expect(v2.headerFields[values: .ifNoneMatch] == ["\"a\",\"b\""])
    }
}
