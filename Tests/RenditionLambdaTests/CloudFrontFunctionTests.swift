import Foundation
import RenditionCore
import TestSupport
import Testing

/// The CloudFront Function in `deploy/template.yaml` (format negotiation on the viewer request), run by node on
/// the shared table of browsers' `Accept` headers: `Tests/cloudfront/run.js` extracts it from the template and
/// checks every rewritten URI.
@Suite struct CloudFrontFunctionTests {
    @Test func theViewerRequestFunctionRewritesEveryURIAsTheTableSays() throws {
        let node = ["/usr/bin/node", "/usr/local/bin/node"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let executable = try #require(node, "node is not installed; run `make test-setup` (apt-get install nodejs)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = [Repository.root().appendingPathComponent("Tests/cloudfront/run.js").path]
        process.currentDirectoryURL = Repository.root()
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "node Tests/cloudfront/run.js failed:\n\(text)")
    }

    /// A negotiating preset missing from the parameter would loop (the bucket never holds its format-less key),
    /// so the template's default must name exactly the shipped presets that negotiate, in their order.
    @Test func theTemplatesDefaultNamesEveryShippedNegotiatingPreset() throws {
        let template = try String(
            contentsOf: Repository.root().appendingPathComponent("deploy/template.yaml"), encoding: .utf8)
        let lines = template.split(separator: "\n")
        let parameter = try #require(lines.firstIndex { $0.hasPrefix("  NegotiatedPresets:") })
        let line = try #require(lines[parameter...].first { $0.hasPrefix("    Default:") })
        let expected = shippedPlans.values.filter(\.negotiates).sorted { $0.name < $1.name }.map {
            "\($0.name)=\($0.formats.map(\.token).joined(separator: ","))"
        }
        #expect(
            line.dropFirst("    Default:".count).trimmingCharacters(in: .whitespaces) == expected.joined(separator: ";")
        )
    }
}
