import Foundation
import RenditionCatalog
import RenditionCore
import TestSupport
import Testing
import Vips

/// A stage written the way a contributor adds one: one type, its options declared once, a libvips operation
/// the project does not otherwise use (`invert`) called through the generic call, and no edit to `Sources/`.
/// As a folder under `Plugins/` it would also be one name in `stageNames` and one line in `Catalog.registry`.
struct Invert: FilterStage {
    static let name = "invert"
    static let summary = "Inverts every colour band (a negative), keeping alpha."
    static let alpha = StageOption.boolean("alpha", default: false, help: "Invert the alpha band too.")
    static let options = OptionSpec.list(alpha)

    let alpha: Bool

    init(options: StageOptions) throws { alpha = options[Self.alpha] }

    func apply(to image: VipsImage, context: StageContext) throws -> VipsImage {
        guard image.hasAlpha, !alpha else { return try VipsOperation.call("invert", ["in": .image(image)]).image() }
        let colour = try image.extractingBands(0, count: image.bands - 1)
        let inverted = try VipsOperation.call("invert", ["in": .image(colour)]).image()
        return try inverted.appendingBands(of: image.extractingBands(image.bands - 1))
    }
}

@Suite struct ExtensionPointTests {
    let planner = Planner(registry: StageRegistry(Catalog.registry.stages + [Invert.self]))

    func planned(_ yaml: String) -> Result<PipelinePlan, PipelineProblems> {
        PipelineLibrary.planText(yaml, name: "negative", source: "negative.yaml", planner: planner)
    }

    /// The problems planning `yaml` reports (none when it plans).
    func problems(_ yaml: String) -> [String] {
        guard case .failure(let found) = planned(yaml) else { return [] }
        return found.problems.map(\.description)
    }

    @Test func aNewFilterStagePlansAndRendersThroughTheGenericCall() async throws {
        let plan = try planned(
            "stages:\n  - orient: {}\n  - resize: {width: 100}\n  - invert: {}\n  - encode: {format: webp, lossless: true}\n"
        ).get()
        #expect(plan.steps.map(\.name) == ["orient", "resize", "invert", "encode"])
        let input = try Fixtures.jpeg(VipsImage.solid(width: 400, height: 300, color: [200, 60, 20]))
        let renderer = try Renderer(threads: 1)
        let result = try await renderer.render(plan, input: input)
        try await renderer.shutdown()
        #expect((result.width, result.height) == (100, 75), "a filter keeps the size the geometry predicted")
        let pixel = try Fixtures.decode(result.bytes).pixel(x: 50, y: 37)
        for (value, expected) in zip(pixel, [55.0, 195, 235]) {
            #expect(abs(value - expected) <= 3, "\(pixel) is the negative of [200, 60, 20]")
        }
    }

    @Test func orderRulesComeFromTheNewStagesRole() {
        #expect(
            problems("stages:\n  - invert: {}\n  - orient: {}\n  - encode: {format: jpeg}\n") == [
                "negative.yaml:3:5: orient: must come before every geometry and filter stage (it follows a filter stage); move it up"
            ])
    }

    @Test func theNewStagesOptionsAreCheckedAndDocumented() {
        #expect(
            problems("stages:\n  - invert: {alpha: maybe}\n  - encode: {format: jpeg}\n") == [
                "negative.yaml:2:21: invert.alpha: expected true or false, got maybe"
            ])
        let schema = PipelineSchema.make(planner.registry).pretty()
        #expect(schema.contains("\"invert\"") && schema.contains("Invert the alpha band too."))
    }
}

@Suite struct ContentFingerprintTests {
    /// A new watermark file under the same name makes the plan's renditions stale.
    @Test func aStagesContentIsInTheFingerprintAndOnlyThen() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "rendition-mark-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: folder.appendingPathComponent("watermarks"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = folder.appendingPathComponent("marked.yaml").path
        func fingerprint(_ color: [Double]) throws -> String {
            try Data(VipsImage.solid(width: 40, height: 20, color: color).pngData()).write(
                to: folder.appendingPathComponent("watermarks/mark.png"))
            let text = "stages:\n  - watermark: {image: mark.png}\n  - encode: {format: webp}\n"
            return try PipelineLibrary.planText(text, name: "marked", source: source).get().fingerprint
        }
        let white = try fingerprint([255, 255, 255, 255])
        #expect(try fingerprint([255, 255, 255, 255]) == white)
        #expect(try fingerprint([0, 0, 0, 255]) != white)
    }
}
