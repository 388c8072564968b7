import Foundation
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

/// The artifact of `make lambda`.
let lambdaZip = Repository.root().appendingPathComponent(".build/lambda/rendition-lambda.zip")

/// The zip, unpacked into an empty folder and run against the Runtime API peer: its launcher starts the
/// binary with the bundled loader and `--library-path` set to the zip's `lib/` only.
@Suite(.serialized) struct PackageTests {
    /// Runs when `.build/lambda/rendition-lambda.zip` exists (`make test` and `make lambda-test` build it first),
    /// and always in CI, where a missing zip is a failure rather than a skipped test.
    @Test(
        .enabled(
            if: FileManager.default.fileExists(atPath: lambdaZip.path)
                || ProcessInfo.processInfo.environment["CI"] == "true"))
    func thePackagedBootstrapAnswersInvocations() async throws {
        try #require(FileManager.default.fileExists(atPath: lambdaZip.path), "run `make lambda` first")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "rendition-unzipped-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let unzip = Process()
        unzip.executableURL = URL(fileURLWithPath: "/usr/bin/unzip")
        unzip.arguments = ["-q", lambdaZip.path, "-d", folder.path]
        try unzip.run()
        unzip.waitUntilExit()
        #expect(unzip.terminationStatus == 0)
        #expect(FileManager.default.isExecutableFile(atPath: folder.appendingPathComponent("bootstrap").path))

        // Every library the binary needs resolves inside the package (loader's own view, package lib only).
        let resolved = try loaderList(folder, "bin/rendition-bootstrap")
        #expect(!resolved.isEmpty)
        #expect(resolved.allSatisfy { $0.hasPrefix("lib/") || $0.hasPrefix(folder.path) }, "\(resolved)")

        // libvips' HEIF module (AVIF), which the binary loads at run time from beside libvips, and every
        // library it links, resolve inside the package too.
        let modules = try #require(
            try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("lib").path)
                .first { $0.hasPrefix("vips-modules-") }, "no libvips module folder in lib/")
        let heif = try loaderList(folder, "lib/\(modules)/vips-heif.so")
        #expect(heif.contains { $0.hasSuffix("libheif.so.1") } && heif.contains { $0.hasSuffix("libaom.so.3") })
        #expect(heif.allSatisfy { $0.hasPrefix("lib/") || $0.hasPrefix(folder.path) }, "\(heif)")

        // The task root is the unpacked folder, as in /var/task; originals in a folder store.
        let originals = folder.appendingPathComponent("data/originals")
        try FileManager.default.createDirectory(at: originals, withIntermediateDirectories: true)
        try Data(try Fixtures.jpeg(Fixtures.photo(width: 1200, height: 900))).write(
            to: originals.appendingPathComponent("cat.jpg"))
        // A preset that writes AVIF, next to the shipped ones (the function plans every file in pipelines/).
        try Data(
            """
            description: AVIF from the packaged function
            stages:
              - orient: {}
              - resize: {width: 320}
              - encode: {format: avif, quality: 50}

            """.utf8
        ).write(to: folder.appendingPathComponent("pipelines/package-avif.yaml"))
        let peer = RuntimePeer()
        let app = Application(router: peer.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let process = Process()
            process.executableURL = folder.appendingPathComponent("bootstrap")
            process.environment = [
                "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:\(client.port!)", "LAMBDA_TASK_ROOT": folder.path,
                "PATH": "/usr/bin:/bin",
            ]
            process.standardError = FileHandle(forWritingAtPath: "/dev/null")
            try process.run()
            defer {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
            defer { Task { await peer.close() } }
            for path in [
                "/_render/thumbnail/cat.jpg", "/_render/avatar/cat.jpg", "/_render/package-avif/cat.jpg", "/healthz",
            ] {
                guard case .response(let body) = await peer.result(await peer.invoke(Events.v2("GET", path))) else {
                    Issue.record("no answer for \(path)"); continue
                }
                #expect([200, 301].contains(try json(body)["statusCode"] as? Int ?? 0), "\(path)")
            }

            // The AVIF rendition through the origin route: AV1 in HEIF (libaom, from the zip), and libvips decodes it.
            guard
                case .response(let hitBody) = await peer.result(
                    await peer.invoke(Events.v2("GET", "/package-avif/cat.jpg")))
            else {
                Issue.record("no answer for the AVIF rendition"); return
            }
            let hit = try json(hitBody)
            #expect(hit["statusCode"] as? Int == 200 && hit["isBase64Encoded"] as? Bool == true)
            #expect((hit["headers"] as? [String: String])?["Content-Type"] == "image/avif", "\(hit["headers"] ?? "")")
            let avif = [UInt8](try #require(Data(base64Encoded: hit["body"] as? String ?? "")))
            try #require(avif.count > 12)
            #expect(String(decoding: avif[4..<8], as: UTF8.self) == "ftyp")
            #expect(String(decoding: avif[8..<12], as: UTF8.self) == "avif", "the ftyp brand")
            let decoded = try Fixtures.decode(avif)
            #expect(decoded.width == 320 && decoded.height == 240)

            // That AVIF as an original: the function reads AVIF too (heifload, with dav1d or libaom from the zip).
            try Data(avif).write(to: originals.appendingPathComponent("cat.avif"))
            guard
                case .response(let fromAVIF) = await peer.result(
                    await peer.invoke(Events.v2("GET", "/_render/thumbnail/cat.avif")))
            else {
                Issue.record("no answer for the AVIF original"); return
            }
            #expect(try json(fromAVIF)["statusCode"] as? Int == 301)
        }
        let stored = folder.appendingPathComponent("data/renditions/thumbnail/cat.jpg")
        #expect(try Fixtures.decode([UInt8](Data(contentsOf: stored))).width == 400)
        let fromAVIF = folder.appendingPathComponent("data/renditions/thumbnail/cat.avif")
        #expect(try Fixtures.decode([UInt8](Data(contentsOf: fromAVIF))).width == 320)
    }

    /// What the bundled loader resolves for `file` (relative to the package) with only the package's `lib/`.
    func loaderList(_ folder: URL, _ file: String) throws -> [String] {
        let listing = Process()
        listing.executableURL = folder.appendingPathComponent("lib/ld-linux-x86-64.so.2")
        listing.arguments = ["--library-path", "lib", "--list", file]
        listing.currentDirectoryURL = folder
        let out = Pipe()
        listing.standardOutput = out
        try listing.run()
        let libraries = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        listing.waitUntilExit()
        #expect(listing.terminationStatus == 0, "\(file): \(libraries)")
        return libraries.split(separator: "\n").compactMap { line -> String? in
            guard let arrow = line.range(of: "=> ") else { return nil }
            return String(line[arrow.upperBound...].split(separator: " ").first ?? "")
        }
    }
}
