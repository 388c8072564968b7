import RenditionCore
import Testing
import Vips

/// Test doubles: the smallest stages that exercise the planner's rules.
struct Flip: TransformStage {
    static let name = "flip"
    static let summary = "Orientation double."
    static let options: [OptionSpec] = []
    static let role = TransformRole.orientation
    init(options: StageOptions) throws {}
    func predict(_ geometry: ImageGeometry) -> ImageGeometry { geometry }
    func apply(to image: VipsImage, context: StageContext) throws -> VipsImage { image }
}

struct Scale: TransformStage {
    static let name = "scale"
    static let summary = "Geometry double."
    enum Mode: String, CaseIterable { case fast, good }
    static let factor = StageOption.number("factor", min: 0.01, max: 1, default: 0.5, help: "Scale factor.")
    static let mode = StageOption<Mode>.choice("mode", default: .good, help: "Mode.")
    static let options = OptionSpec.list(factor, mode)
    static let role = TransformRole.geometry
    let factor: Double
    init(options: StageOptions) throws { factor = options[Self.factor] }
    func contribute(to hints: inout LoadHints) { hints.shrinkOnLoad = true }
    func predict(_ geometry: ImageGeometry) -> ImageGeometry {
        var result = geometry
        result.width = Int(Double(geometry.width) * factor)
        result.height = Int(Double(geometry.height) * factor)
        result.scale *= factor
        return result
    }
    func apply(to image: VipsImage, context: StageContext) throws -> VipsImage {
        // The factor is relative to the original; the decoder may already have shrunk the image.
        let width = Int(Double(context.input.width) * factor)
        let scale = Double(width) / Double(image.width)
        context.resolutionScale = 1
        return try image.resized(horizontalScale: scale, verticalScale: scale, kernel: .linear)
    }
}

struct Write: OutputStage {
    static let name = "write"
    static let summary = "Output double."
    static let options = [OptionSpec("level", .integer(min: 0, max: 9), required: true, help: "Level.")]
    init(options: StageOptions) throws {}
    var mediaType: String { "image/png" }
    var fileExtension: String { "png" }
    var formatToken: String { "png" }
    func encode(_ image: VipsImage, context: StageContext) throws -> [UInt8] { try image.pngData() }
}

let registry = StageRegistry([Flip.self, Scale.self, Write.self])
let here = SpecLocation(file: "p.yaml", line: 1, column: 1)

/// Builds a document the way the YAML reader would, with a distinct line per node.
func document(_ stages: [(String, [(String, String)])], extra: [(String, SpecNode)] = []) -> SpecNode {
    var line = 1
    func at() -> SpecLocation {
        line += 1
        return SpecLocation(file: "p.yaml", line: line, column: 5)
    }
    let items: [SpecNode] = stages.map { name, options in
        let location = at()
        let node: SpecNode = .mapping(
            options.map { SpecEntry(key: $0.0, keyLocation: at(), value: .scalar($0.1, at())) }, location)
        return .mapping([SpecEntry(key: name, keyLocation: location, value: node)], location)
    }
    return .mapping(
        [SpecEntry(key: "stages", keyLocation: here, value: .sequence(items, here))]
            + extra.map { SpecEntry(key: $0.0, keyLocation: here, value: $0.1) }, here)
}

func problems(_ result: Result<PipelinePlan, PipelineProblems>) -> [String] {
    if case .failure(let found) = result { return found.problems.map(\.description) }
    return []
}

@Suite struct PlannerTests {
    let planner = Planner(registry: registry)

    @Test func plansAValidDocument() throws {
        let plan = try planner.plan(
            name: "thumb",
            document: document([("flip", []), ("scale", [("factor", "0.25")]), ("write", [("level", "6")])]),
            source: "p.yaml"
        ).get()
        #expect(plan.steps.map(\.name) == ["flip", "scale", "write"])
        #expect(plan.transforms.count == 2)
        #expect(plan.hints.shrinkOnLoad && !plan.hints.randomAccess && plan.hints.failOn == .warning)
        #expect(plan.cacheControl == "public, max-age=1209600")
        #expect(plan.maxInputPixels == 50_000_000)
        #expect(
            plan.steps[1].options.map { "\($0.name)=\($0.value)" } == ["factor=0.25", "mode=good"],
            "defaults are resolved")
    }

    @Test func fingerprintIsStableAndTracksWhatChangesBytes() throws {
        func fingerprint(_ factor: String, name: String = "a", maxAge: String? = nil) throws -> String {
            let extra: [(String, SpecNode)] =
                maxAge.map {
                    [("cache", .mapping([SpecEntry(key: "maxAge", keyLocation: here, value: .scalar($0, here))], here))]
                } ?? []
            return try planner.plan(
                name: name,
                document: document([("scale", [("factor", factor)]), ("write", [("level", "1")])], extra: extra),
                source: "p.yaml"
            ).get().fingerprint
        }
        let base = try fingerprint("0.5")
        #expect(base.count == 64)
        #expect(try fingerprint("0.5") == base, "same options, same fingerprint")
        #expect(try fingerprint("0.50") == base, "the value counts, not its spelling")
        #expect(try fingerprint("0.25") != base)
        #expect(try fingerprint("0.5", name: "b") == base, "the name does not change bytes")
        #expect(try fingerprint("0.5", maxAge: "1d") == base, "nor does caching")
    }

    @Test func orderRules() {
        #expect(
            problems(
                planner.plan(
                    name: "a", document: document([("scale", []), ("flip", []), ("write", [("level", "1")])]),
                    source: "p.yaml"))
                == [
                    "p.yaml:3:5: flip: must come before every geometry and filter stage (it follows a geometry stage); move it up"
                ])
        #expect(
            problems(
                planner.plan(
                    name: "a", document: document([("write", [("level", "1")]), ("scale", [])]), source: "p.yaml"))
                == ["p.yaml:2:5: write: must be the last stage; move it to the end"])
        #expect(
            problems(
                planner.plan(
                    name: "a", document: document([("write", [("level", "1")]), ("write", [("level", "2")])]),
                    source: "p.yaml")
            ).contains {
                $0.contains("a pipeline has exactly one write stage")
            })
        #expect(
            problems(planner.plan(name: "a", document: document([("scale", [])]), source: "p.yaml"))
                == ["p.yaml:1:1: stages: no output stage; end the list with write"])
    }

    @Test func collectsEveryProblem() {
        let found = problems(
            planner.plan(
                name: "healthz",
                document: document([("scale", [("factor", "2"), ("speed", "9")]), ("blur", []), ("write", [])]),
                source: "p.yaml"))
        #expect(found.count == 5, "\(found)")
        #expect(found.contains { $0.contains("\"healthz\" is reserved") })
        #expect(found.contains { $0.contains("scale.factor: expected a number from 0.01 to 1, got 2") })
        #expect(found.contains { $0.contains("scale.speed: unknown option; known options: factor, mode") })
        #expect(found.contains { $0.contains("unknown stage \"blur\"; known stages: flip, scale, write") })
        #expect(found.contains { $0.contains("write.level: missing; expected an integer from 0 to 9") })
    }

    @Test func topLevelSections() throws {
        func plan(_ key: String, _ sub: String, _ value: String) -> Result<PipelinePlan, PipelineProblems> {
            planner.plan(
                name: "a",
                document: document(
                    [("write", [("level", "1")])],
                    extra: [
                        (key, .mapping([SpecEntry(key: sub, keyLocation: here, value: .scalar(value, here))], here))
                    ]),
                source: "p.yaml")
        }
        #expect(try plan("cache", "maxAge", "2h").get().maxAge == 7_200)
        #expect(try plan("limits", "maxInputPixels", "12M").get().maxInputPixels == 12_000_000)
        #expect(try plan("input", "failOn", "none").get().hints.failOn == FailOn.none)
        #expect(
            problems(plan("limits", "maxInputPixels", "60M")).first?.contains("above the service-wide limit of 50M")
                == true)
        #expect(problems(plan("cache", "maxAge", "soon")).first?.contains("expected a duration") == true)
        #expect(problems(plan("cache", "ttl", "1d")).first?.contains("cache.ttl: unknown key") == true)
        #expect(problems(plan("colour", "x", "1")).first?.contains("unknown key; a pipeline file has") == true)
    }

    @Test(arguments: ["healthz", "readyz", "metrics", "_render", "render", "studio"])
    func reservedNamesAreRefused(name: String) {
        #expect(PresetName.problem(with: name)?.contains("reserved") == true)
    }

    @Test(arguments: ["Thumb", "-x", "a b", "a/b", "", String(repeating: "a", count: 65), "é"])
    func malformedNamesAreRefused(name: String) {
        #expect(PresetName.problem(with: name)?.contains("not a valid preset name") == true)
    }

    @Test(arguments: ["thumbnail", "original-webp", "v2.small", "a_b", "400"])
    func goodNamesAreAccepted(name: String) {
        #expect(PresetName.problem(with: name) == nil)
    }
}

@Suite struct ValueTests {
    @Test func durations() {
        #expect(Quantity.seconds("14d") == 1_209_600)
        #expect(Quantity.seconds("90") == 90)
        #expect(Quantity.seconds("15m") == 900)
        #expect(Quantity.seconds("2w") == 1_209_600)
        #expect(Quantity.seconds("-1") == nil && Quantity.seconds("1y") == nil && Quantity.seconds("") == nil)
    }

    @Test func counts() {
        #expect(Quantity.count("50M") == 50_000_000)
        #expect(Quantity.count("2500K") == 2_500_000)
        #expect(Quantity.count("1.5G") == 1_500_000_000)
        #expect(Quantity.count("0") == nil && Quantity.count("M") == nil && Quantity.count("-5") == nil)
        #expect(Quantity.describe(count: 50_000_000) == "50M" && Quantity.describe(count: 1234) == "1234")
    }

    @Test func colours() {
        #expect(Color(parsing: "#fff") == Color(red: 255, green: 255, blue: 255))
        #expect(Color(parsing: "#11223380") == Color(red: 17, green: 34, blue: 51, alpha: 128))
        #expect(Color(parsing: "transparent")?.alpha == 0)
        #expect(Color(parsing: "#ggg") == nil && Color(parsing: "red") == nil && Color(parsing: "#12345") == nil)
        #expect(Color(red: 255, green: 0, blue: 0).bands(1) == [54])
    }

    @Test func aspectRatios() {
        #expect(AspectRatio(parsing: "16:9")?.ratio == 16.0 / 9.0)
        #expect(AspectRatio(parsing: "1.91:1") != nil)
        #expect(
            AspectRatio(parsing: "0:1") == nil && AspectRatio(parsing: "16/9") == nil
                && AspectRatio(parsing: "1:2:3") == nil)
    }

    @Test func optionMessages() {
        #expect(OptionKind.integer(min: 1, max: .max).expectation == "a positive integer")
        #expect(OptionKind.integer(min: 1, max: 100).expectation == "an integer from 1 to 100")
        #expect(OptionKind.choice(["a", "b"]).expectation == "one of a, b")
    }

    @Test func jsonPrintingEscapes() {
        let value = JSONValue.object([
            ("a\"b", .string("line\nnext\u{1}")), ("n", .array([.int(1), .double(0.5), .bool(true), .null])),
        ])
        #expect(
            value.pretty()
                == "{\n  \"a\\\"b\": \"line\\nnext\\u0001\",\n  \"n\": [\n    1,\n    0.5,\n    true,\n    null\n  ]\n}"
        )
    }

    @Test func deadlines() throws {
        #expect(Deadline.none.remaining == nil)
        #expect(throws: Never.self) { try Deadline.after(.seconds(60)).check("now") }
        let error = #expect(throws: RenditionError.self) {
            try Deadline(.now - .milliseconds(1)).check("before encoding")
        }
        #expect(error?.code == .deadlineExceeded)
    }
}
