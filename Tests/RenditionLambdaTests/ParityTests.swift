import Foundation
import Hummingbird
import HummingbirdTesting
import RenditionCore
import TestSupport
import Testing

/// The same preset on the same input gives the same bytes on all three fronts: `rendition run`, the
/// server's render route, and the function.
@Suite(.serialized) struct ParityTests {
    @Test func cliServerAndFunctionStoreIdenticalBytes() async throws {
        let root = try TaskRoot()
        let inputs: [(String, [UInt8])] = [
            (
                "sideways.jpg",
                try Fixtures.jpeg(Fixtures.stored(Fixtures.photo(width: 1800, height: 1200), orientation: 6))
            ),
            ("alpha.png", try Fixtures.upright(width: 700, height: 500).appendingBand(180).pngData()),
        ]
        for (key, bytes) in inputs { try root.original(key, bytes) }
        // Each preset's own form: a negotiating preset's in its first format (card@avif), named in every URL.
        let presets = shippedPlans.keys.sorted().map { shippedPlans[$0]!.form.segment(preset: $0) }
        #expect(presets.count >= 4 && presets.contains("card@avif"))

        // 1. The CLI.
        var cli: [String: [UInt8]] = [:]
        for preset in presets {
            for (key, _) in inputs {
                let output = root.url.appendingPathComponent("cli/\(preset)/\(key)")
                let process = Process()
                process.executableURL = builtBinary("rendition")
                let (name, format) = RenditionForm.split(preset)
                process.arguments =
                    ["run", name, "data/originals/\(key)", "-o", output.path]
                    + (format.map { ["--format", String($0)] } ?? [])
                process.currentDirectoryURL = root.url
                process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
                try process.run()
                process.waitUntilExit()
                #expect(process.terminationStatus == 0)
                cli["\(preset)/\(key)"] = [UInt8](try Data(contentsOf: output))
            }
        }

        // 2. The server.
        let server = try ServeProcess(
            in: root.url, arguments: ["--no-sample"],
            environment: ["RENDITION_RENDITIONS_PATH": "server-renditions", "PATH": "/usr/bin:/bin"])
        defer { server.stop() }
        for preset in presets {
            for (key, _) in inputs {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
                process.arguments = [
                    "-s", "-o", "/dev/null", "-w", "%{http_code}", "\(server.base)/_render/\(preset)/\(key)",
                ]
                let out = Pipe()
                process.standardOutput = out
                try process.run()
                let status = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                process.waitUntilExit()
                #expect(status == "301", "\(preset)/\(key)")
            }
        }

        // 3. The function.
        let peer = RuntimePeer()
        let app = Application(router: peer.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let (process, _) = try startBootstrap(
                port: client.port!, root: root, extra: ["RENDITION_RENDITIONS_PATH": "function-renditions"])
            defer {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
            defer { Task { await peer.close() } }
            for preset in presets {
                for (key, _) in inputs {
                    let result = await peer.result(await peer.invoke(Events.v2("GET", "/_render/\(preset)/\(key)")))
                    guard case .response(let body) = result else {
                        Issue.record("no answer for \(preset)/\(key)"); continue
                    }
                    #expect(try json(body)["statusCode"] as? Int == 301)
                }
            }
        }

        for preset in presets {
            for (key, _) in inputs {
                let name = "\(preset)/\(key)"
                let served = [UInt8](try Data(contentsOf: root.url.appendingPathComponent("server-renditions/\(name)")))
                let function = [UInt8](
                    try Data(contentsOf: root.url.appendingPathComponent("function-renditions/\(name)")))
                #expect(cli[name] == served, "\(name): CLI and server")
                #expect(served == function, "\(name): server and function")
            }
        }
    }
}
