import Foundation
import TestSupport
import Testing
import Vips

/// Runs the built `rendition` binary as a user would.
struct CLI {
    struct Output {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    static var binary: URL { builtBinary("rendition") }

    /// `environment` is added to the test process's own.
    static func run(
        _ arguments: [String], in directory: URL = Repository.root(), environment: [String: String] = [:]
    ) throws -> Output {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, added in added }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }
}

/// A scratch folder with a copy of the shipped presets, removed afterwards.
final class Workspace {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("rendition-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: Repository.root().appendingPathComponent("pipelines"), to: url.appendingPathComponent("pipelines"))
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func write(_ name: String, _ bytes: [UInt8]) throws {
        let target = url.appendingPathComponent(name)
        try FileManager.default.createDirectory(
            at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: target)
    }

    func read(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: url.appendingPathComponent(name))) }

    func files() throws -> [String] {
        (FileManager.default.enumerator(atPath: url.path)?.allObjects as? [String] ?? []).filter {
            !$0.hasPrefix("pipelines")
        }.sorted()
    }
}

@Suite(.serialized) struct CLITests {
    init() throws { try VipsRuntime.start() }

    @Test func stagesListsEveryStageAndOption() throws {
        let output = try CLI.run(["stages"])
        #expect(output.status == 0)
        for stage in ["orient —", "crop —", "resize —", "encode —"] { #expect(output.stdout.contains(stage)) }
        #expect(output.stdout.contains("    fit: inside|cover|contain|fill  (default inside)"))
        #expect(output.stdout.contains("    format: jpeg|webp|avif|png|auto  (required)"))
    }

    @Test func schemaMatchesTheCommittedFile() throws {
        let output = try CLI.run(["schema"])
        let committed = try String(
            contentsOf: Repository.root().appendingPathComponent("pipelines/rendition.schema.json"), encoding: .utf8)
        #expect(output.status == 0 && output.stdout == committed)
    }

    @Test func validateAcceptsTheShippedPresets() throws {
        let output = try CLI.run(["validate"])
        #expect(output.status == 0, "\(output.stderr)")
        for preset in ["thumbnail", "avatar", "hero", "original-webp"] {
            #expect(output.stdout.contains("preset \(preset) "))
        }
    }

    @Test func validateListsEveryProblemAndFails() throws {
        let workspace = try Workspace()
        try workspace.write(
            "bad/one.yaml",
            Array("stages:\n  - resize: {width: -1}\n  - encode: {format: webp}\n  - encode: {format: jpeg}\n".utf8))
        try workspace.write("bad/two.yaml", Array("stages:\n  - sparkle: {}\n".utf8))
        let output = try CLI.run(["validate", "bad"], in: workspace.url)
        #expect(output.status == 1)
        #expect(output.stderr.contains("bad/one.yaml:2:21: resize.width: expected an integer from 1 to 100000, got -1"))
        #expect(output.stderr.contains("bad/one.yaml:3:5: encode: must be the last stage"))
        #expect(output.stderr.contains("bad/one.yaml:4:5: encode: a pipeline has exactly one encode stage"))
        #expect(output.stderr.contains("bad/two.yaml:2:5: stages[0]: unknown stage \"sparkle\""))
        #expect(output.stderr.contains("problems in 2 files"))
    }

    @Test func planExplainsWithoutWriting() throws {
        let workspace = try Workspace()
        try workspace.write(
            "photo.jpg", try Fixtures.jpeg(Fixtures.stored(Fixtures.upright(width: 4000, height: 3000), orientation: 6))
        )
        let text = try CLI.run(["plan", "thumbnail", "--input", "photo.jpg"], in: workspace.url)
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("jpeg 3000×4000, orientation 6"), "stored size: the camera held it sideways")
        #expect(text.stdout.contains("shrink-on-load: 8 (decoded at 1/8 scale)"))
        #expect(text.stdout.contains("→ webp 400×300"))
        #expect(try workspace.files() == ["photo.jpg"], "a dry run writes nothing")

        let json = try CLI.run(
            ["plan", "thumbnail", "--input", "photo.jpg", "--json", "--output", "out/t.webp"], in: workspace.url)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let input = try #require(object["input"] as? [String: Any])
        let output = try #require(object["output"] as? [String: Any])
        #expect(input["shrinkOnLoad"] as? Int == 8 && input["orientation"] as? Int == 6)
        #expect(
            output["width"] as? Int == 400 && output["height"] as? Int == 300 && output["decodedWidth"] as? Int == 375)
        #expect(try SniffResult(workspace.read("out/t.webp")) == .supported(.webp))
        let phases = try #require(object["phases"] as? [[String: Any]])
        // This photo is baseline: there is no scan rewrite phase.
        #expect(
            phases.compactMap { $0["name"] as? String } == [
                "read", "header", "decode", "orient", "resize", "colour", "encode",
            ])
        #expect(phases.allSatisfy { ($0["cpuMilliseconds"] as? Double ?? -1) >= 0 })
        #expect(text.stdout.contains("by phase, each computed into memory in turn"))
    }

    @Test func planShowsTheScanRewriteOfAProgressiveOriginal() throws {
        let workspace = try Workspace()
        try workspace.write(
            "photo.jpg",
            try ProgressiveJPEG.jpegtran(try Fixtures.photo(width: 3300, height: 2000).jpegData(quality: 85)))
        let text = try CLI.run(["plan", "thumbnail", "--input", "photo.jpg"], in: workspace.url)
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("\n  scan rewrite "), "\(text.stdout)")
    }

    @Test func planReportsALimitThatWouldTrip() throws {
        let workspace = try Workspace()
        try workspace.write("bomb.jpg", try Fixtures.jpegClaiming(width: 65_500, height: 65_500))
        let output = try CLI.run(["plan", "thumbnail", "--input", "bomb.jpg"], in: workspace.url)
        #expect(output.status == 1)
        #expect(output.stdout.contains("jpeg 65500×65500"))
        #expect(output.stdout.contains("would fail: too_many_pixels: The original declares 65500×65500 pixels"))
    }

    @Test func runWritesAnUprightRendition() throws {
        let workspace = try Workspace()
        try workspace.write(
            "photo.jpg", try Fixtures.jpeg(Fixtures.stored(Fixtures.upright(width: 1200, height: 900), orientation: 6)))
        let output = try CLI.run(["run", "thumbnail", "photo.jpg"], in: workspace.url)
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stdout.contains("photo.jpg → photo-thumbnail.webp  400×300"))
        let image = try Fixtures.decode(workspace.read("photo-thumbnail.webp"))
        #expect(image.width == 400 && image.height == 300)
        #expect(try Marker.corners(of: image) == [.red, .blue, .grey, .grey])
    }

    @Test func runManyListsFailuresAndExitsNonZero() throws {
        let workspace = try Workspace()
        let good = try Fixtures.jpeg(Fixtures.photo(width: 800, height: 600))
        try workspace.write("in/a.jpg", good)
        try workspace.write("in/b.jpg", good)
        try workspace.write("in/empty.jpg", [])
        try workspace.write("in/page.jpg", Array("<html><body>not an image</body></html>".utf8))
        let output = try CLI.run(
            ["run", "avatar", "in/a.jpg", "in/b.jpg", "in/empty.jpg", "in/page.jpg", "--out-dir", "out"],
            in: workspace.url)
        #expect(output.status == 1)
        #expect(output.stdout.contains("rendered 2, failed 2"))
        #expect(output.stderr.contains("failed in/empty.jpg: unsupported_format: The original is empty (0 bytes)"))
        #expect(output.stderr.contains("failed in/page.jpg: unsupported_format: The original is HTML"))
        #expect(try workspace.files().filter { $0.hasPrefix("out/") } == ["out/a.webp", "out/b.webp"])
    }

    @Test func badInvocationsExplainThemselves() throws {
        let unknown = try CLI.run(["run", "nosuch", "x.jpg"])
        #expect(
            unknown.status == 1
                && unknown.stderr.contains(
                    "unknown preset \"nosuch\"; known presets: \(shippedPlans.keys.sorted().joined(separator: ", "))")
        )
        let twoOutputs = try CLI.run(["run", "thumbnail", "a.jpg", "b.jpg", "-o", "x.webp"])
        #expect(twoOutputs.status != 0 && twoOutputs.stderr.contains("--output takes exactly one input"))
        let missing = try CLI.run(["run", "thumbnail", "/nonexistent/photo.jpg"])
        #expect(missing.status == 1 && missing.stderr.contains("/nonexistent/photo.jpg: cannot read"))
    }
}

@Suite struct SampleTests {
    @Test func sampleIsASidewaysPhotoThatRendersUpright() throws {
        let workspace = try Workspace()
        let written = try CLI.run(["sample", "s.jpg"], in: workspace.url)
        #expect(written.status == 0)
        let stored = try Fixtures.decode(workspace.read("s.jpg"))
        #expect(stored.width == 1600 && stored.height == 2400 && stored.orientation == 6)
        let rendered = try CLI.run(["run", "thumbnail", "s.jpg", "-o", "s.webp"], in: workspace.url)
        #expect(rendered.status == 0)
        let image = try Fixtures.decode(workspace.read("s.webp"))
        #expect(image.width == 400 && image.height == 267)
        let corners = try Marker.corners(of: image)
        #expect(corners[0] == .red && corners[1] == .blue)
    }
}
