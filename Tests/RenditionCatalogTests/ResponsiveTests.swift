import Foundation
import RenditionCatalog
import RenditionCore
import TestSupport
import Testing

/// `variants:` and `format: auto`: every form a preset declares is planned once, and URLs name only those.
@Suite struct ResponsiveTests {
    func plan(_ text: String, name: String = "card") throws -> PipelinePlan {
        try PipelineLibrary.planText(text, name: name, source: "pipelines/\(name).yaml").get()
    }

    func problems(_ text: String) -> [String] {
        switch PipelineLibrary.planText(text, name: "bad", source: "pipelines/bad.yaml") {
        case .success: return []
        case .failure(let found): return found.problems.map(\.description)
        }
    }

    static let card = """
        stages:
          - orient: {}
          - resize: {width: 400, height: 300, fit: cover}
          - crop: {left: 10, top: 20, width: 200, height: 100}
          - encode: {format: auto, avif: {quality: 50}}
        variants:
          widths: [200, 400, 800]
          densities: [1, 2]
        """

    func options(_ plan: PipelinePlan, _ stage: String) -> [String: OptionValue] {
        let step = plan.steps.first { $0.name == stage }!
        return Dictionary(uniqueKeysWithValues: step.options.map { ($0.name, $0.value) })
    }

    @Test func everySizeInEveryFormatIsPlanned() throws {
        let card = try plan(Self.card)
        #expect(card.form == RenditionForm(size: .base, format: "avif"))
        #expect(card.formats.map(\.token) == ["avif", "webp", "jpeg"])
        #expect(card.allForms.count == 5 * 3, "base, three widths and 2x, each in three formats")
        #expect(Set(card.allForms.map(\.fingerprint)).count == 3 * 3, "@400w is the base size, @2x is @800w")
        let wide = try #require(card.plan(for: RenditionForm(size: .width(800), format: "webp")))
        #expect(options(wide, "resize")["width"] == 800 && options(wide, "resize")["height"] == 600)
        #expect(options(wide, "crop")["left"] == 20.0 && options(wide, "crop")["width"] == 400.0)
        #expect(wide.output.mediaType == "image/webp" && options(wide, "encode")["quality"] == 80)
        let dense = try #require(card.plan(for: RenditionForm(size: .density(2), format: "avif")))
        #expect(options(dense, "resize")["width"] == 800 && options(dense, "encode")["quality"] == 50)
        let small = try #require(card.plan(for: RenditionForm(size: .width(200), format: "jpeg")))
        #expect(options(small, "resize")["height"] == 150 && options(small, "crop")["top"] == 10.0)
    }

    @Test func sizesBeforeTheResizeAreTheOriginalsAndStay() throws {
        let text = """
            stages:
              - crop: {left: 100, top: 100, width: 1000, height: 800}
              - resize: {width: 400}
              - encode: {format: jpeg}
            variants: {densities: [2, 3]}
            """
        let preset = try plan(text)
        let triple = try #require(preset.plan(for: RenditionForm(size: .density(3))))
        #expect(options(triple, "crop")["width"] == 1000.0 && options(triple, "resize")["width"] == 1200)
        #expect(preset.plan(for: RenditionForm(size: .density(2), format: "jpeg")) == nil, "a fixed format has none")
    }

    @Test func aFixedPresetKeepsItsFingerprintWhenItGainsVariants() throws {
        let plain = try plan("stages:\n  - resize: {width: 400}\n  - encode: {format: webp}\n")
        let varied = try plan(
            "stages:\n  - resize: {width: 400}\n  - encode: {format: webp}\nvariants: {widths: [800]}\n")
        #expect(plain.fingerprint == varied.fingerprint && varied.form == RenditionForm())
    }

    @Test(
        arguments: [
            ("400w", RenditionForm(size: .width(400))), ("2x", RenditionForm(size: .density(2))),
            ("avif", RenditionForm(format: "avif")), ("800w@jpeg", RenditionForm(size: .width(800), format: "jpeg")),
        ])
    func declaredFormsParse(modifiers: String, form: RenditionForm) throws {
        #expect(try plan(Self.card).form(modifiers: modifiers[...]) == form)
    }

    @Test(arguments: [
        "333w", "0w", "2.5x", "x", "w", "99999w", "1x", "3x", "+200w", "0200w", "avif@400w", "400w@400w", "gif", "",
        "2x@avif@webp", "400W",
    ])
    func anythingUndeclaredIsUnknownVariant(modifiers: String) throws {
        let error = #expect(throws: RenditionError.self) { try plan(Self.card).form(modifiers: modifiers[...]) }
        #expect(error?.code == .unknownVariant)
        #expect(error?.message.contains("/card@800w/{key}") == true)
    }

    @Test func aFormatTokenOnAFixedPresetIsUnknown() throws {
        let fixed = try plan("stages:\n  - resize: {width: 400}\n  - encode: {format: webp}\n")
        #expect(throws: RenditionError.self) { try fixed.form(modifiers: "webp") }
        #expect(fixed.negotiate(accept: "image/webp") == nil)
    }

    /// The same table the CloudFront Function's test reads (Tests/Fixtures/accept-headers.json).
    struct Client: Decodable, Sendable, CustomTestStringConvertible {
        let client: String
        let accept: String?
        let avif: Bool
        let webp: Bool
        var testDescription: String { client }
    }

    static let clients: [Client] = {
        let url = Repository.root().appendingPathComponent("Tests/Fixtures/accept-headers.json")
        return try! JSONDecoder().decode([Client].self, from: Data(contentsOf: url))
    }()

    @Test(arguments: clients)
    func negotiationReadsOnlyExplicitTokensInThePresetsOrder(client: Client) throws {
        let card = try plan(Self.card)
        #expect(card.negotiate(accept: client.accept) == (client.avif ? "avif" : client.webp ? "webp" : "jpeg"))
        let webpFirst = try plan(
            "stages:\n  - resize: {width: 9}\n  - encode: {format: auto, candidates: [webp, avif, png]}\n")
        #expect(webpFirst.negotiate(accept: client.accept) == (client.webp ? "webp" : client.avif ? "avif" : "png"))
    }

    @Test func safariListingWebPFirstStillGetsAVIF() throws {
        #expect(try plan(Self.card).negotiate(accept: "image/webp,image/avif,image/jxl,image/heic,*/*;q=0.8") == "avif")
    }

    @Test(
        arguments: [
            ("variants: {widths: [200, 200]}", "pipelines/bad.yaml:5:20: variants.widths: lists 200 twice; keep one"),
            (
                "variants: {widths: [0]}",
                "variants.widths: expected a list of at most 16 widths, each a whole number from 1 to 8192, got 0"
            ),
            (
                "variants: {widths: [9000]}",
                "variants.widths: expected a list of at most 16 widths, each a whole number from 1 to 8192, got 9000"
            ),
            ("variants: {widths: [\(Array(1...17).map(String.init).joined(separator: ", "))]}", "got a list of 17"),
            (
                "variants: {densities: [2.5]}",
                "variants.densities: expected a list of at most 4 densities, each a whole number from 1 to 4, got 2.5"
            ),
            (
                "variants: {densities: [5]}",
                "variants.densities: expected a list of at most 4 densities, each a whole number from 1 to 4, got 5"
            ),
            ("variants: {densities: [1, 2, 3, 4, 2]}", "got a list of 5"),
            ("variants: {heights: [100]}", "variants.heights: unknown key; known keys: widths, densities"),
            ("variants: [200]", "variants: expected a mapping with widths, densities, got a list"),
        ])
    func badVariantsAreLocatedProblems(line: String, message: String) {
        let found = problems(
            "stages:\n  - orient: {}\n  - resize: {width: 400}\n  - encode: {format: webp}\n" + line + "\n")
        #expect(found.count == 1 && found[0].contains(message), "\(found)")
    }

    @Test func variantsNeedAResizeThatSetsTheirSize() {
        #expect(
            problems("stages:\n  - orient: {}\n  - encode: {format: webp}\nvariants: {densities: [2]}\n") == [
                "pipelines/bad.yaml:4:1: variants: needs a stage that sets the output size (resize); a variant scales the sizes it sets"
            ])
        #expect(
            problems("stages:\n  - resize: {height: 300}\n  - encode: {format: webp}\nvariants: {widths: [200]}\n") == [
                "pipelines/bad.yaml:4:1: variants.widths: resize sets no width, so there is none to vary; give it a width, or use densities"
            ])
        let found = problems(
            "stages:\n  - resize: {width: 60000}\n  - encode: {format: webp}\nvariants: {densities: [2]}\n")
        #expect(
            found.count == 1
                && found[0].contains("2x makes resize.width expected an integer from 1 to 100000, got 120000"),
            "\(found)")
    }

    @Test func autoCandidatesProblemsCarryTheirLine() {
        #expect(
            problems("stages:\n  - resize: {width: 4}\n  - encode: {format: auto, candidates: [avif, webp]}\n").first?
                .hasPrefix("pipelines/bad.yaml:3:40: encode.candidates: must end with jpeg or png") == true)
        #expect(
            problems("stages:\n  - resize: {width: 4}\n  - encode:\n      format: auto\n      avif: {quality: 0}\n")
                == [
                    "pipelines/bad.yaml:5:23: encode.avif.quality: expected an integer from 1 to 100, got 0"
                ])
    }
}
