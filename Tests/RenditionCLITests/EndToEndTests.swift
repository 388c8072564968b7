import Foundation
import TestSupport
import Testing

/// Runs `curl` (a real HTTP client that does not normalise paths) and returns status, headers and body.
struct Curl {
    struct Reply: Sendable {
        let status: Int
        let headers: [String: String]
        let body: [UInt8]
        let redirects: Int
        func header(_ name: String) -> String? { headers[name.lowercased()] }
    }

    static func get(
        _ url: String, follow: Bool = false, method: String = "GET", headers: [String] = [], maxTime: String = "60"
    ) throws -> Reply {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("curl-\(UUID().uuidString)")
        defer {
            try? FileManager.default.removeItem(at: scratch.appendingPathExtension("h"))
            try? FileManager.default.removeItem(at: scratch.appendingPathExtension("b"))
        }
        var arguments = [
            "-s", "--path-as-is", "-X", method, "-D", scratch.appendingPathExtension("h").path, "-o",
            scratch.appendingPathExtension("b").path,
        ]
        arguments += ["-w", "%{http_code} %{num_redirects}", "--max-time", maxTime]
        if follow { arguments += ["-L", "--max-redirs", "5"] }
        for header in headers { arguments += ["-H", header] }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = arguments + [url]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let written = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(
            separator: " ")
        process.waitUntilExit()
        // With -L the header file holds every response; the last block is the final one.
        let headerText = (try? String(contentsOf: scratch.appendingPathExtension("h"), encoding: .utf8)) ?? ""
        let lastBlock = headerText.components(separatedBy: "\r\n\r\n").filter { !$0.isEmpty }.last ?? ""
        var headers: [String: String] = [:]
        for line in lastBlock.components(separatedBy: "\r\n").dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
        let body = (try? [UInt8](Data(contentsOf: scratch.appendingPathExtension("b")))) ?? []
        return Reply(
            status: Int(written.first ?? "") ?? 0, headers: headers, body: body, redirects: Int(written.last ?? "") ?? 0
        )
    }
}

/// The nginx lines for format negotiation in `docs/responsive.md`: the `map` (http level) and the directives for
/// the location that proxies to Rendition, so the test runs exactly what the documentation shows.
enum DocumentedNginx {
    static let lines: [String] = {
        let readme = try! String(
            contentsOf: Repository.root().appendingPathComponent("docs/responsive.md"), encoding: .utf8)
        let start = readme.range(of: "```nginx\n")!.upperBound
        let block = readme[start..<readme.range(of: "\n```", range: start..<readme.endIndex)!.lowerBound]
        return block.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") }
    }()

    /// The `map { … }` block.
    static var http: String {
        let end = lines.firstIndex { $0 == "}" }!
        return lines[...end].joined(separator: "\n")
    }

    static var location: String {
        let end = lines.firstIndex { $0 == "}" }!
        return lines[(end + 1)...].joined(separator: "\n")
    }
}

/// `rendition serve` and nginx in front of it, as a CDN configured the naive way plus the documented format
/// negotiation lines.
final class Stack {
    let workspace: Workspace
    let cdnPort = freePort()
    let server: ServeProcess
    let nginx = Process()

    init() throws {
        workspace = try Workspace()
        try workspace.write(
            "data/originals/broken.jpg",
            Fixtures.truncated(try Fixtures.jpeg(Fixtures.photo(width: 900, height: 600)), keeping: 0.4))
        server = try ServeProcess(in: workspace.url)

        let prefix = workspace.url.appendingPathComponent("nginx")
        try FileManager.default.createDirectory(
            at: prefix.appendingPathComponent("cache"), withIntermediateDirectories: true)
        let conf = """
            \(getuid() == 0 ? "user root;" : "")
            worker_processes 1;
            daemon off;
            error_log \(prefix.path)/error.log;
            pid \(prefix.path)/nginx.pid;
            events { worker_connections 256; }
            http {
                access_log \(prefix.path)/access.log;
                client_body_temp_path \(prefix.path)/body;
                proxy_temp_path \(prefix.path)/proxy;
                fastcgi_temp_path \(prefix.path)/fastcgi;
                uwsgi_temp_path \(prefix.path)/uwsgi;
                scgi_temp_path \(prefix.path)/scgi;
                proxy_cache_path \(prefix.path)/cache levels=1:2 keys_zone=renditions:10m max_size=1g inactive=60m use_temp_path=off;
                \(DocumentedNginx.http)
                server {
                    listen 127.0.0.1:\(cdnPort);
                    location / {
                        proxy_pass http://127.0.0.1:\(server.port);
                        proxy_cache renditions;
                        # Deliberately naive: cache every status for 10 minutes. Only the origin's headers
                        # (Cache-Control: no-store on redirects and errors) keep loops out of the cache.
                        proxy_cache_valid any 10m;
                        add_header X-Cache-Status $upstream_cache_status always;
                        \(DocumentedNginx.location)
                    }
                }
            }
            """
        try conf.write(to: prefix.appendingPathComponent("nginx.conf"), atomically: true, encoding: .utf8)
        nginx.executableURL = URL(fileURLWithPath: "/usr/sbin/nginx")
        nginx.arguments = ["-c", prefix.appendingPathComponent("nginx.conf").path, "-p", prefix.path]
        let log = workspace.url.appendingPathComponent("nginx.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        nginx.standardError = try FileHandle(forWritingTo: log)
        try nginx.run()
        for _ in 0..<150 {
            if (try? Curl.get("\(cdn)/healthz").status) == 200 { return }
            usleep(100_000)
        }
        throw FixtureError("nginx did not start: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
    }

    /// The keys nginx's cache holds (each cache file names its key).
    func cacheKeys() throws -> [String] {
        let cache = workspace.url.appendingPathComponent("nginx/cache")
        let files = (FileManager.default.enumerator(atPath: cache.path)?.allObjects as? [String] ?? [])
        return try files.compactMap { file in
            let bytes = try? [UInt8](Data(contentsOf: cache.appendingPathComponent(file)))
            guard let bytes, let range = String(decoding: bytes.prefix(4096), as: UTF8.self).range(of: "\nKEY: ")
            else { return nil }
            let text = String(decoding: bytes.prefix(4096), as: UTF8.self)
            return String(text[range.upperBound...].prefix { $0 != "\n" })
        }
    }

    var origin: String { server.base }
    var cdn: String { "http://127.0.0.1:\(cdnPort)" }

    /// The origin's own count of requests for a route and status (nginx hits never reach it).
    func served(_ route: String, _ status: Int) throws -> Int {
        let text = String(decoding: try Curl.get("\(origin)/metrics").body, as: UTF8.self)
        let prefix = "rendition_http_requests_total{route=\"\(route)\",status=\"\(status)\"} "
        return text.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { Int($0.dropFirst(prefix.count)) }
            ?? 0
    }

    /// Stops both; returns the server's exit status after SIGTERM.
    func stop() -> Int32 {
        if nginx.isRunning { nginx.terminate() }
        nginx.waitUntilExit()
        return server.terminate()
    }

    deinit { _ = stop() }
}

@Suite(.serialized) struct EndToEndTests {
    /// A libvips whose HEIF module did not load (a package that left it out) cannot write AVIF: that render
    /// is a 500 `internal` that says so, nothing is stored, and the preset's other formats still render.
    @Test func anAVIFEncodeThatFailsStoresNothingAndTheServiceKeepsServing() throws {
        let workspace = try Workspace()
        var environment = ProcessInfo.processInfo.environment
        environment["VIPSHOME"] = workspace.url.appendingPathComponent("no-libvips-here").path
        let server = try ServeProcess(in: workspace.url, environment: environment)
        defer { server.stop() }
        let failed = try Curl.get("\(server.base)/_render/card@avif/sample.jpg")
        #expect(failed.status == 500 && failed.header("Cache-Control") == "no-store")
        let body = String(decoding: failed.body, as: UTF8.self)
        #expect(body.contains("\"internal\"") && body.contains("cannot write AVIF"), "\(body)")
        let stored = workspace.url.appendingPathComponent("data/renditions/card@avif/sample.jpg")
        #expect(!FileManager.default.fileExists(atPath: stored.path))
        #expect(try Curl.get("\(server.base)/_render/card@webp/sample.jpg").status == 301)
        let hit = try Curl.get("\(server.base)/card/sample.jpg", headers: ["Accept: image/webp,*/*"])
        #expect(hit.status == 200 && hit.header("Content-Type") == "image/webp")
    }

    /// Real browsers' `Accept` headers through nginx to the shipped `card` preset (`format: auto`): each gets
    /// the format it decodes, and nginx keeps one entry per (variant, format), never one per header.
    @Test func negotiatedRenditionsThroughTheCDN() throws {
        struct Client: Decodable {
            let client: String
            let accept: String?
            let avif: Bool
            let webp: Bool
        }
        let rows = try JSONDecoder().decode(
            [Client].self,
            from: Data(contentsOf: Repository.root().appendingPathComponent("Tests/Fixtures/accept-headers.json")))
        // The browsers, curl, no header and a refusal with q=0; the table's hostile rows are the service's tests.
        let clients = Array(rows.prefix(12))
        #expect(clients.contains { $0.client.hasPrefix("Safari 13") } && clients.contains { $0.accept == nil })
        let stack = try Stack()
        defer { _ = stack.stop() }
        try stack.workspace.write(
            "data/originals/photo.jpg", try Fixtures.jpeg(Fixtures.photo(width: 1200, height: 900)))
        for variant in ["", "@2x"] {
            for client in clients {
                let expected = client.avif ? "image/avif" : client.webp ? "image/webp" : "image/jpeg"
                let header = client.accept.map { $0.isEmpty ? "Accept;" : "Accept: \($0)" } ?? "Accept:"
                let reply = try Curl.get("\(stack.cdn)/card\(variant)/photo.jpg", follow: true, headers: [header])
                #expect(reply.status == 200 && reply.header("Content-Type") == expected, "\(client.client)")
                #expect(reply.header("Vary") == "Accept", "\(client.client)")
                let image = try Fixtures.decode(reply.body)
                #expect(image.width == (variant.isEmpty ? 400 : 800), "\(client.client)")
            }
        }
        let keys = try stack.cacheKeys()
        for variant in ["/card/photo.jpg|", "/card@2x/photo.jpg|"] {
            let entries = keys.filter { $0.contains(variant) }
            #expect(entries.count == 3, "one per format: \(entries)")
        }
        #expect(!keys.contains { $0.contains("@avif") || $0.contains("@jpeg") }, "stored forms are never public")
        #expect(try Curl.get("\(stack.cdn)/card@333w/photo.jpg").status == 404)
    }

    @Test func theFlowBehindARealCDN() async throws {
        let stack = try Stack()
        defer { _ = stack.stop() }

        // A miss through the CDN: 307 to the render route, and nginx does not keep it.
        let miss = try Curl.get("\(stack.cdn)/thumbnail/sample.jpg")
        #expect(miss.status == 307 && miss.header("Location") == "/_render/thumbnail/sample.jpg")
        #expect(miss.header("Cache-Control") == "no-store")
        #expect(miss.header("X-Cache-Status") != "HIT")

        // Following redirects: 307 → render → 301 → 200 image, from nginx (MISS), within 3 redirects.
        let followed = try Curl.get("\(stack.cdn)/thumbnail/sample.jpg", follow: true)
        #expect(followed.status == 200 && followed.redirects == 2)
        #expect(followed.header("Content-Type") == "image/webp")
        #expect(followed.header("X-Cache-Status") == "MISS")
        let image = try Fixtures.decode(followed.body)
        #expect(image.width == 400 && image.height == 267)
        let corners = try Marker.corners(of: image)
        #expect(corners[0] == .red && corners[1] == .blue, "the sample is upright")
        #expect(try stack.served("origin", 307) == 2, "both 307s reached the origin: nginx cached neither")

        // The rendition is in the store with the preset's Cache-Control.
        let sidecar = try String(
            contentsOf: stack.workspace.url.appendingPathComponent(
                "data/renditions/.rendition/meta/thumbnail/sample.jpg.json"), encoding: .utf8)
        #expect(sidecar.contains("public, max-age=1209600"))
        #expect(
            FileManager.default.fileExists(
                atPath: stack.workspace.url.appendingPathComponent("data/renditions/thumbnail/sample.jpg").path))

        // The next request is a CDN hit: the origin is not touched.
        let hitsBefore = try stack.served("origin", 200)
        let hit = try Curl.get("\(stack.cdn)/thumbnail/sample.jpg")
        #expect(hit.status == 200 && hit.header("X-Cache-Status") == "HIT")
        #expect(hit.header("Cache-Control") == "public, max-age=1209600")
        #expect(hit.body == followed.body)
        #expect(try stack.served("origin", 200) == hitsBefore)

        // A corrupt original ends in a 422, not a redirect loop, and the error is never cached.
        let broken = try Curl.get("\(stack.cdn)/thumbnail/broken.jpg", follow: true)
        #expect(broken.status == 422 && broken.redirects == 1)
        #expect(String(decoding: broken.body, as: UTF8.self).contains("corrupt_image"))
        let brokenAgain = try Curl.get("\(stack.cdn)/_render/thumbnail/broken.jpg")
        #expect(brokenAgain.status == 422 && brokenAgain.header("X-Cache-Status") != "HIT")
        #expect(try stack.served("render", 422) == 2, "both 422s reached the origin")

        // A missing original: 404 after one redirect, not cached either.
        let missing = try Curl.get("\(stack.cdn)/avatar/nope/missing.jpg", follow: true)
        #expect(missing.status == 404 && missing.redirects == 1)
        #expect(try Curl.get("\(stack.cdn)/_render/avatar/nope/missing.jpg").header("X-Cache-Status") != "HIT")

        // Hostile paths through the CDN are refused by the origin.
        #expect(try Curl.get("\(stack.cdn)/thumbnail/%2e%2e/%2e%2e/etc/passwd").status == 400)

        // A client that gives up mid-render: the render finishes and stores a whole rendition, never a part.
        try stack.workspace.write(
            "data/originals/big.jpg", try Fixtures.jpeg(Fixtures.photo(width: 4000, height: 3000)))
        let impatient = try Curl.get("\(stack.origin)/_render/original-webp/big.jpg", maxTime: "0.05")
        #expect(impatient.status == 0, "curl gave up before the answer")
        let stored = stack.workspace.url.appendingPathComponent("data/renditions/original-webp/big.jpg")
        for _ in 0..<300 where !FileManager.default.fileExists(atPath: stored.path) { usleep(50_000) }
        let whole = try Fixtures.decode([UInt8](Data(contentsOf: stored)))
        #expect(whole.width == 4000 && whole.height == 3000)
        _ = try whole.average()  // decodes every pixel: the file is complete

        // SIGTERM during a render: the render finishes and is answered, then the server exits cleanly.
        try stack.workspace.write(
            "data/originals/big2.jpg", try Fixtures.jpeg(Fixtures.photo(width: 4000, height: 3000)))
        let slowURL = "\(stack.origin)/_render/original-webp/big2.jpg"
        func inFlight(_ count: Int) throws -> Bool {
            String(decoding: try Curl.get("\(stack.origin)/metrics").body, as: UTF8.self)
                .contains("rendition_renders_in_flight \(count)")
        }
        // The previous render's file appears a moment before its admission is released: wait for that first.
        // The waits are long because the whole suite runs beside this test on two cores.
        for _ in 0..<1500 where try !inFlight(0) { usleep(20_000) }
        let request = Task { try Curl.get(slowURL) }
        // Then wait until the server is rendering this one (not just until curl started) before stopping it.
        var rendering = false
        for _ in 0..<1500 where !rendering {
            rendering = try inFlight(1)
            if !rendering { usleep(20_000) }
        }
        try #require(rendering, "the render never started, so SIGTERM would not test an in-flight render")
        kill(stack.server.process.processIdentifier, SIGTERM)
        let answered = try await request.value
        #expect(answered.status == 301, "the in-flight render was answered")
        #expect(
            FileManager.default.fileExists(
                atPath: stack.workspace.url.appendingPathComponent("data/renditions/original-webp/big2.jpg").path))

        // A clean exit, and no temporary file left in the rendition store.
        #expect(stack.stop() == 0)
        // One structured line per request, every field there to grep.
        let log = String(decoding: try stack.workspace.read("server.log"), as: UTF8.self)
        let lines = log.split(separator: "\n").filter { $0.contains(" request") && $0.contains("route=origin") }
        #expect(
            lines.contains {
                $0.contains(" info rendition : ") && $0.contains("cache=miss") && $0.contains("status=307")
            },
            "\(log.suffix(2000))")
        let leftovers = try FileManager.default.contentsOfDirectory(
            atPath: stack.workspace.url.appendingPathComponent("data/renditions/.rendition/tmp").path)
        #expect(leftovers.isEmpty)
    }

    @Test func serveRefusesBadConfigurationNamingTheSetting() throws {
        let workspace = try Workspace()
        let process = Process()
        process.executableURL = CLI.binary
        process.arguments = ["serve"]
        process.currentDirectoryURL = workspace.url
        process.environment = ["RENDITION_PORT": "99999", "RENDITION_RENDER_TIMEOUT": "soon"]
        let err = Pipe()
        process.standardError = err
        process.standardOutput = Pipe()
        try process.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 2)
        #expect(text.contains("RENDITION_PORT: expected a port number from 1 to 65535, got \"99999\""))
        #expect(text.contains("RENDITION_RENDER_TIMEOUT: expected a duration"))
    }
}

@Suite(.serialized) struct S3ServeTests {
    @Test func serveRunsTheFlowOnS3() throws {
        let workspace = try Workspace()
        let originals = try Moto.makeBucket(.originals)
        let renditions = try Moto.makeBucket()
        let photo = workspace.url.appendingPathComponent("photo.jpg")
        try Data(try Fixtures.jpeg(Fixtures.stored(Fixtures.upright(width: 1200, height: 900), orientation: 8))).write(
            to: photo)
        _ = try Moto.boto3("s3.upload_file(\"\(photo.path)\", \"\(originals)\", \"in/albums/a b/photo.jpg\")")

        var environment = ProcessInfo.processInfo.environment
        for (key, value) in [
            "RENDITION_SOURCE_TYPE": "s3", "RENDITION_SOURCE_BUCKET": originals, "RENDITION_SOURCE_PREFIX": "in",
            "RENDITION_SOURCE_ENDPOINT": try Moto.endpoint, "RENDITION_SOURCE_ADDRESSING": "path",
            "RENDITION_RENDITIONS_TYPE": "s3", "RENDITION_RENDITIONS_BUCKET": renditions,
            "RENDITION_RENDITIONS_ENDPOINT": try Moto.endpoint, "RENDITION_RENDITIONS_ADDRESSING": "path",
        ].merging(try Moto.functionEnvironment, uniquingKeysWith: { a, _ in a }) { environment[key] = value }
        let server = try ServeProcess(in: workspace.url, environment: environment)
        defer { server.stop() }

        #expect(try Curl.get("\(server.base)/readyz").status == 200)
        let followed = try Curl.get("\(server.base)/avatar/albums/a%20b/photo.jpg", follow: true)
        #expect(followed.status == 200 && followed.redirects == 2)
        let image = try Fixtures.decode(followed.body)
        #expect(image.width == 256 && image.height == 256)
        let stored = try Moto.boto3(
            """
            o = s3.head_object(Bucket="\(renditions)", Key="avatar/albums/a b/photo.jpg")
            print(o["ContentType"], "|", o["CacheControl"])
            """)
        #expect(stored.trimmingCharacters(in: .whitespacesAndNewlines) == "image/webp | public, max-age=1209600")
    }
}
