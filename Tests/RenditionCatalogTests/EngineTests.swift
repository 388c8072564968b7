import Foundation
import RenditionCatalog
import RenditionCore
import RenditionPreview
import TestSupport
import Testing
import Vips

/// The whole engine on the shipped presets: real pipeline files, real libvips, the render pool.
@Suite struct EngineTests {
    let renderer: Renderer
    let plans: [String: PipelinePlan]

    init() throws {
        renderer = try Renderer(threads: 2)
        plans = shippedPlans
    }

    func render(_ preset: String, _ input: [UInt8]) async throws -> RenderResult {
        try await renderer.render(try #require(plans[preset]), input: input)
    }

    @Test(arguments: 1...8, [true, false])
    func thumbnailIsUprightForEveryOrientation(orientation: Int, landscape: Bool) async throws {
        let (width, height) = landscape ? (2000, 1500) : (1500, 2000)
        let input = try Fixtures.jpeg(
            Fixtures.stored(Fixtures.upright(width: width, height: height), orientation: orientation))
        let result = try await render("thumbnail", input)
        #expect(result.report.shrinkOnLoad == 4, "2000 → 400 shrinks 5×: decode at 1/4, 500 px")
        #expect((result.width, result.height) == (landscape ? (400, 300) : (300, 400)))
        let output = try Fixtures.decode(result.bytes)
        #expect(try Marker.corners(of: output) == [.red, .blue, .grey, .grey])
        #expect(!output.hasField("exif-data") && output.orientation == 1)
    }

    /// Every shipped preset, whatever its stages (trim, pad, watermark, blur…), renders a photo stored with
    /// any EXIF orientation as it renders the same photo stored upright: same size, same pixels up to JPEG noise.
    @Test(arguments: 2...8, [true, false])
    func everyPresetIsUprightForEveryOrientation(orientation: Int, landscape: Bool) async throws {
        let (width, height) = landscape ? (1200, 900) : (900, 1200)
        let upright = try Fixtures.upright(width: width, height: height)
        let reference = try Fixtures.jpeg(Fixtures.stored(upright, orientation: 1))
        let oriented = try Fixtures.jpeg(Fixtures.stored(upright, orientation: orientation))
        for preset in plans.keys.sorted() {
            let expected = try Fixtures.decode(try await render(preset, reference).bytes)
            let result = try Fixtures.decode(try await render(preset, oriented).bytes)
            #expect((result.width, result.height) == (expected.width, expected.height), "\(preset)")
            guard (result.width, result.height) == (expected.width, expected.height) else { continue }
            let (a, b) = (try expected.pixelBytes(), try result.pixelBytes())
            let difference = zip(a, b).reduce(0) { $0 + abs(Int($1.0) - Int($1.1)) }
            #expect(Double(difference) / Double(a.count) < 4, "\(preset): mean difference from upright")
        }
    }

    /// `product` trims the studio border and then fits 760 px: shrinking on load by the untrimmed size would
    /// leave the subject smaller than 760 after the cut, and `enlarge: false` would keep it so.
    @Test func aProductShotIsTrimmedBeforeItIsScaled() async throws {
        let studio = try VipsImage.solid(width: 1600, height: 1200, color: [240, 240, 240])
            .drawingRectangle(color: Fixtures.red, left: 400, top: 300, width: 800, height: 600)
        let result = try await render("product", try Fixtures.jpeg(studio))
        #expect(result.report.shrinkOnLoad == 1, "the scale depends on what trim cuts")
        #expect((result.width, result.height) == (800, 800))
        let output = try Fixtures.decode(result.bytes)
        let row = try (0..<800).map { try output.pixel(x: $0, y: 400) }
        let subject = row.filter { $0[0] > 150 && $0[1] < 100 }.count
        #expect(abs(subject - 760) <= 2, "the trimmed subject fills the 760 px fit, got \(subject) px")
        #expect(try output.pixel(x: 5, y: 400).allSatisfy { $0 > 245 }, "padded on white")
    }

    @Test func aLargePhotoIsNeverDecodedAtFullSize() async throws {
        // 8000×6000 (48 MP) to 400 px: libjpeg decodes at 1/8, 1000×750, never 48 MP.
        let input = try Fixtures.jpeg(VipsImage.solid(width: 8000, height: 6000, color: [90, 120, 150]), quality: 70)
        let plan = try #require(plans["thumbnail"])
        let header = try await renderer.inspect(input, plan: plan)
        #expect(plan.predict(for: header).shrink == 8)
        let result = try await render("thumbnail", input)
        #expect(result.report.shrinkOnLoad == 8)
        #expect(result.report.loadedWidth == 1000 && result.report.loadedHeight == 750)
        #expect(result.width == 400 && result.height == 300)
    }

    @Test func everyPresetRendersAPhoto() async throws {
        let input = try Fixtures.jpeg(Fixtures.photo(width: 3000, height: 2000))
        let expected: [String: (Int, Int, InputFormat)] = [
            "thumbnail": (400, 267, .webp), "avatar": (256, 256, .webp), "hero": (1600, 1067, .jpeg),
            "original-webp": (3000, 2000, .webp),
        ]
        for (preset, (width, height, format)) in expected {
            let result = try await render(preset, input)
            #expect((result.width, result.height) == (width, height), "\(preset)")
            #expect(SniffResult(result.bytes) == .supported(format), "\(preset)")
            let decoded = try Fixtures.decode(result.bytes)
            #expect(decoded.width == width && decoded.height == height)
            let looks = try #require(try DifferenceHash.computed(result.bytes))
            let original = try #require(try DifferenceHash.computed(input))
            #expect(looks.distance(to: original) <= (preset == "avatar" ? 64 : 6), "\(preset) looks like its input")
        }
    }

    @Test func heroIsProgressive() async throws {
        let result = try await render("hero", try Fixtures.jpeg(Fixtures.photo(width: 2400, height: 1200)))
        #expect((0..<result.bytes.count - 1).contains { result.bytes[$0] == 0xFF && result.bytes[$0 + 1] == 0xC2 })
    }

    @Test func otherAcceptedFormatsRender() async throws {
        let image = try Fixtures.upright(width: 900, height: 600)
        let alpha = try image.appendingBand(200)
        for (name, bytes) in [
            ("png", try image.pngData()), ("png+alpha", try alpha.pngData()), ("webp", try image.webpData(quality: 90)),
            ("tiff", try image.tiffData()), ("gif", try image.gifData()),
        ] {
            let result = try await render("thumbnail", bytes)
            #expect((result.width, result.height) == (400, 267), "\(name)")
            #expect(try Marker.corners(of: Fixtures.decode(result.bytes)) == [.red, .blue, .grey, .grey], "\(name)")
        }
    }

    // MARK: Bad input: each refused with a typed error, quickly, before decoding where possible.

    static func badInputs() throws -> [(String, [UInt8], RenditionError.Code)] {
        let jpeg = try Fixtures.jpeg(Fixtures.photo(width: 1200, height: 900))
        let progressive = try Fixtures.jpeg(Fixtures.photo(width: 1200, height: 900), progressive: true)
        let png = try Fixtures.photo(width: 600, height: 400).pngData()
        return [
            ("corrupt JPEG", Fixtures.corrupted(jpeg), .corruptImage),
            ("truncated JPEG", Fixtures.truncated(jpeg, keeping: 0.5), .corruptImage),
            ("truncated progressive JPEG", Fixtures.truncated(progressive, keeping: 0.5), .corruptImage),
            ("truncated PNG", Fixtures.truncated(png, keeping: 0.5), .corruptImage),
            (
                "JPEG header then garbage", Array(jpeg.prefix(400)) + [UInt8](repeating: 0x41, count: 4000),
                .corruptImage
            ),
            ("zero bytes", [], .unsupportedFormat),
            ("text named .jpg", Array("hello, this is not a photo\n".utf8), .unsupportedFormat),
            ("HTML named .jpg", Array("<!DOCTYPE html><html><body><img src=x></body></html>".utf8), .unsupportedFormat),
            (
                "SVG",
                Array(
                    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"100000\" height=\"100000\"><rect/></svg>".utf8),
                .unsupportedFormat
            ),
            ("PDF", Array("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n".utf8), .unsupportedFormat),
            ("EPS", Array("%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n".utf8), .unsupportedFormat),
            ("JPEG SOF claiming 65500×65500", try Fixtures.jpegClaiming(width: 65_500, height: 65_500), .tooManyPixels),
            (
                "PNG IHDR claiming 100000×100000", try Fixtures.pngClaiming(width: 100_000, height: 100_000),
                .tooManyPixels
            ),
        ]
    }

    @Test func badInputsGetTypedErrors() async throws {
        for (name, bytes, code) in try Self.badInputs() {
            let error = await #expect(throws: RenditionError.self, "\(name)") { try await render("thumbnail", bytes) }
            #expect(error?.code == code, "\(name): \(String(describing: error))")
            #expect(error?.message.isEmpty == false)
            #expect(error?.message.contains("libvips") == false, "public messages do not leak libvips text")
        }
        // And the engine keeps working afterwards.
        let result = try await render("thumbnail", try Fixtures.jpeg(Fixtures.photo(width: 800, height: 600)))
        #expect(result.width == 400)
    }

    @Test func bestEffortDecodingIsOptIn() async throws {
        let truncated = Fixtures.truncated(try Fixtures.jpeg(Fixtures.photo(width: 1200, height: 900)), keeping: 0.6)
        let lenient = try PipelineLibrary.planText(
            "stages:\n  - resize: {width: 300}\n  - encode: {format: jpeg}\ninput:\n  failOn: none\n", name: "lenient",
            source: "lenient.yaml"
        ).get()
        let result = try await renderer.render(lenient, input: truncated)
        #expect(result.width == 300)
    }

    @Test func cropOutsideTheImageIsUnprocessable() async throws {
        let plan = try PipelineLibrary.planText(
            "stages:\n  - crop: {left: 100, top: 100, width: 500, height: 500}\n  - encode: {format: jpeg}\n",
            name: "box", source: "box.yaml"
        ).get()
        let error = await #expect(throws: RenditionError.self) {
            try await renderer.render(plan, input: try Fixtures.jpeg(Fixtures.photo(width: 400, height: 300)))
        }
        #expect(error?.code == .unprocessable)
    }

    @Test func sameInputSameBytes() async throws {
        let input = try Fixtures.jpeg(Fixtures.photo(width: 1000, height: 700))
        for preset in plans.keys.sorted() {
            let first = try await render(preset, input).bytes
            let second = try await render(preset, input).bytes
            #expect(first == second, "\(preset) is deterministic")
        }
    }
}
