import Foundation
import RenditionCatalog
import RenditionCore
import TestSupport
import Testing

@Suite struct PipelineFileTests {
    func problems(_ text: String, name: String = "bad") -> [String] {
        switch PipelineLibrary.planText(text, name: name, source: "pipelines/\(name).yaml") {
        case .success: return []
        case .failure(let found): return found.problems.map(\.description)
        }
    }

    @Test func negativeWidthNamesFileLineColumnStageAndOption() {
        let text = """
            description: Broken
            stages:
              - orient: {}
              - resize: {width: -1, height: 200}
              - encode: {format: webp}
            """
        #expect(
            problems(text) == ["pipelines/bad.yaml:4:21: resize.width: expected an integer from 1 to 100000, got -1"])
    }

    @Test func yamlSyntaxError() {
        let found = problems("stages:\n  - orient: {}\n  - resize: {width: 10\n  - encode: {format: webp}\n")
        #expect(found.count == 1)
        #expect(found.first?.hasPrefix("pipelines/bad.yaml:4:") == true, "\(found)")
        #expect(found.first?.contains("YAML syntax error") == true)
    }

    @Test func unknownStageAndUnknownOption() {
        let found = problems(
            "stages:\n  - sharpen: {radius: 2}\n  - resize: {width: 10, hieght: 5}\n  - encode: {format: jpeg}\n")
        #expect(
            found == [
                "pipelines/bad.yaml:2:5: stages[0]: unknown stage \"sharpen\"; known stages: orient, crop, resize, watermark, encode",
                "pipelines/bad.yaml:3:25: resize.hieght: unknown option; known options: width, height, fit, enlarge, kernel, background, gravity",
            ])
    }

    @Test func twoEncodesAndEncodeNotLast() {
        #expect(
            problems("stages:\n  - encode: {format: jpeg}\n  - resize: {width: 10}\n") == [
                "pipelines/bad.yaml:2:5: encode: must be the last stage; move it to the end"
            ])
        #expect(
            problems("stages:\n  - resize: {width: 10}\n  - encode: {format: jpeg}\n  - encode: {format: webp}\n") == [
                "pipelines/bad.yaml:3:5: encode: must be the last stage; move it to the end",
                "pipelines/bad.yaml:4:5: encode: a pipeline has exactly one encode stage; remove this one",
            ])
    }

    @Test func orientAfterGeometry() {
        #expect(
            problems("stages:\n  - resize: {width: 10}\n  - orient: {}\n  - encode: {format: jpeg}\n") == [
                "pipelines/bad.yaml:3:5: orient: must come before every geometry and filter stage (it follows a geometry stage); move it up"
            ])
    }

    @Test func reservedPresetName() {
        #expect(
            problems("stages:\n  - encode: {format: jpeg}\n", name: "metrics").first?.contains(
                "\"metrics\" is reserved") == true)
    }

    @Test func oddShapesAreExplained() {
        #expect(
            problems("") == [
                "pipelines/bad.yaml:1:1: the file is empty; a pipeline file has description, stages, cache, limits, input"
            ])
        #expect(problems("- orient\n").first?.contains("expected a mapping with description, stages") == true)
        #expect(problems("stages: resize\n").first?.contains("stages: expected a list of stages, got resize") == true)
        #expect(
            problems("stages:\n  - resize: 400\n  - encode: {format: jpeg}\n").first?.contains(
                "resize: expected a mapping of options (or {}), got 400") == true)
        #expect(
            problems("stages:\n  - orient\n  - encode: {format: jpeg}\n").first?.contains(
                "expected one stage written as `name: {options}`, got orient") == true)
    }

    @Test func validateListsEveryProblemInEveryFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rendition-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try "stages:\n  - resize: {width: 0, fit: fill}\n  - encode: {format: gif}\n".write(
            to: folder.appendingPathComponent("one.yaml"), atomically: true, encoding: .utf8)
        try "stages: [\n".write(to: folder.appendingPathComponent("two.yml"), atomically: true, encoding: .utf8)
        try "stages:\n  - encode: {format: webp}\n".write(
            to: folder.appendingPathComponent("fine.yaml"), atomically: true, encoding: .utf8)
        try "{}".write(to: folder.appendingPathComponent("notes.json"), atomically: true, encoding: .utf8)
        let library = PipelineLibrary.load([folder.path])
        #expect(library.files.count == 3, "only .yaml/.yml files are pipelines")
        #expect(library.plans.keys.sorted() == ["fine"])
        #expect(library.problems.count == 3, "\(library.problems)")  // width, format, syntax
        #expect(
            Set(library.problems.map { URL(fileURLWithPath: $0.location.file).lastPathComponent }) == [
                "one.yaml", "two.yml",
            ])
    }

    @Test func everyShippedPresetPlans() throws {
        let folder = Repository.root().appendingPathComponent("pipelines").path
        let library = PipelineLibrary.load([folder])
        #expect(library.problems.isEmpty, "\(library.problems)")
        #expect(Set(library.plans.keys).isSuperset(of: ["thumbnail", "avatar", "hero", "original-webp"]))
    }

    @Test func committedSchemaIsCurrent() throws {
        let path = Repository.root().appendingPathComponent("pipelines/rendition.schema.json")
        let committed = try String(contentsOf: path, encoding: .utf8)
        #expect(
            committed == PipelineSchema.make(Catalog.registry).pretty() + "\n",
            "run `rendition schema -o pipelines/rendition.schema.json`")
    }

    @Test func schemaDescribesEveryStageAndOption() throws {
        let schema = PipelineSchema.make(Catalog.registry).pretty()
        for stage in Catalog.registry.stages {
            #expect(schema.contains("\"\(stage.name)\": {"))
            for option in stage.options { #expect(schema.contains("\"\(option.name)\": {")) }
        }
    }
}
