import Foundation
import RenditionCatalog
import RenditionCore
import TestSupport
import Testing
import Vips

/// Unusual but valid originals: every one renders to an 8-bit sRGB rendition of the right size, with its
/// colours converted rather than reinterpreted.
@Suite struct OddValidCorpusTests {
    let renderer: Renderer
    let thumbnail: PipelinePlan

    init() throws {
        renderer = try Renderer(threads: 2)
        let plans = shippedPlans
        thumbnail = try #require(plans["thumbnail"])
    }

    /// The rendition as decoded pixels, after checking what every rendition must be.
    func render(_ input: [UInt8], plan: PipelinePlan? = nil, size: (Int, Int), _ name: String) async throws
        -> VipsImage
    {
        let result = try await renderer.render(plan ?? thumbnail, input: input)
        #expect((result.width, result.height) == size, "\(name)")
        let output = try Fixtures.decode(result.bytes)
        #expect((output.width, output.height) == size, "\(name)")
        #expect(output.interpretation == .srgb && output.isEightBit, "\(name): \(output.interpretation)")
        #expect(!output.hasField("icc-profile-data"), "\(name)")
        return output
    }

    func close(_ actual: [Double], _ expected: [Double], within tolerance: Double) -> Bool {
        zip(actual, expected).allSatisfy { abs($0 - $1) <= tolerance }
    }

    @Test(arguments: [true, false])
    func cmyk(withProfile: Bool) async throws {
        var cmyk = try VipsImage.solid(width: 800, height: 600, color: [200, 60, 40]).iccTransformed(to: "cmyk")
        if !withProfile { cmyk = try cmyk.removingFields { $0 == "icc-profile-data" } }
        let output = try await render(try cmyk.jpegData(quality: 95, strip: false), size: (400, 300), "cmyk")
        let pixel = try output.pixel(x: 200, y: 150)
        #expect(output.bands == 3)
        // Through the CMYK profile and back: still clearly red, never the inverted colours of CMYK read as RGB.
        #expect(pixel[0] > 150 && pixel[1] < 120 && pixel[2] < 120, "\(pixel)")
    }

    @Test func sixteenBitPNG() async throws {
        let deep = try VipsImage.solid(width: 900, height: 300, color: [30, 140, 220]).colourspace(.rgb16)
        let input = try deep.pngData()
        #expect(!(try Fixtures.decode(input)).isEightBit)
        let output = try await render(input, size: (400, 133), "16-bit")
        #expect(close(try output.pixel(x: 200, y: 60), [30, 140, 220], within: 4))
    }

    @Test func paletteWithTransparency() async throws {
        // Colour type 3: a palette of one half-transparent red, every pixel index 0.
        let input =
            PNGFile.signature + PNGFile.header(width: 500, height: 500, bitDepth: 8, colorType: 3)
            + PNGFile.chunk("PLTE", [200, 40, 40]) + PNGFile.chunk("tRNS", [128])
            + PNGFile.chunk("IDAT", Deflate.repeating(0, count: 501 * 500)) + PNGFile.chunk("IEND", [])
        let output = try await render(input, size: (400, 400), "palette+tRNS")
        #expect(output.bands == 4, "the WebP thumbnail keeps alpha")
        #expect(close(try output.pixel(x: 100, y: 100), [200, 40, 40, 128], within: 4))
    }

    @Test func greyWithAlpha() async throws {
        let input = try VipsImage.solid(width: 600, height: 800, color: [100, 200]).pngData()
        let output = try await render(input, size: (300, 400), "grey+alpha")
        #expect(output.bands == 4)
        #expect(close(try output.pixel(x: 150, y: 200), [100, 100, 100, 200], within: 3))
    }

    /// A saturated colour tagged with a wide-gamut profile lands where libvips' own conversion of the
    /// tagged file puts it, and far from where it would land if the tag were ignored.
    @Test(arguments: RGBSpace.allCases)
    func wideGamutProfilesAreConverted(space: RGBSpace) async throws {
        let color: [UInt8] = [40, 160, 60]
        let profile = space.iccProfile
        let inputs: [(String, [UInt8])] = [
            (
                "jpeg",
                ColourFixtures.jpeg(
                    try VipsImage.solid(width: 640, height: 480, color: color.map(Double.init)).jpegData(quality: 95),
                    embedding: profile)
            ),
            ("png", ColourFixtures.png(width: 640, height: 480, color: color, embedding: profile)),
        ]
        for (kind, input) in inputs {
            let tagged = try Fixtures.decode(input)
            #expect(tagged.hasField("icc-profile-data"), "\(space) \(kind): the fixture carries its profile")
            let reference = try tagged.iccTransformed(to: "srgb").pixel(x: 320, y: 240)
            let output = try await render(input, size: (400, 300), "\(space) \(kind)")
            let pixel = try output.pixel(x: 200, y: 150)
            #expect(close(pixel, reference, within: 4), "\(space) \(kind): \(pixel) vs \(reference)")
            if space != .displayP3 {
                // P3 is close enough to sRGB that a modest colour barely moves; the others move a lot.
                #expect(!close(pixel, color.map(Double.init), within: 12), "\(space) \(kind): profile ignored")
            }
        }
    }

    @Test(arguments: ["gif", "webp"])
    func animationsRenderTheirFirstFrame(format: String) async throws {
        // Three 300×200 frames, red, blue, grey, stacked as libvips lays out pages.
        let frames = try VipsImage.solid(width: 300, height: 600, color: Fixtures.grey)
            .drawingRectangle(color: Fixtures.red, left: 0, top: 0, width: 300, height: 200)
            .drawingRectangle(color: Fixtures.blue, left: 0, top: 200, width: 300, height: 200)
            .setting("page-height", to: 200)
        let input = format == "gif" ? try frames.gifData() : try frames.webpData(quality: 90, strip: false)
        #expect(try Fixtures.decode(input).pageCount == 3, "the fixture is animated")
        let output = try await render(input, size: (300, 200), format)
        #expect(Marker(try output.pixel(x: 150, y: 100)) == .red)
    }

    @Test func tinyAndSliverImages() async throws {
        let one = try VipsImage.solid(width: 1, height: 1, color: [10, 200, 30]).jpegData(quality: 95)
        _ = try await render(one, size: (1, 1), "1×1")
        let sliver = try VipsImage.solid(width: 940, height: 2, color: [10, 200, 30]).pngData()
        let output = try await render(sliver, size: (400, 1), "940×2")
        #expect(close(try output.pixel(x: 200, y: 0), [10, 200, 30], within: 4))
    }

    /// 99 MP is over the default 50M ceiling: a service configured for 100M and a preset that allows it
    /// render it; the shipped thumbnail preset still refuses it.
    @Test func aNinetyNineMegapixelPhotoUnderAPresetThatAllowsIt() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("odd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("poster.yaml")
        try """
        stages:
          - orient: {}
          - resize: {width: 400, height: 400, fit: inside}
          - encode: {format: jpeg, quality: 80}
        limits:
          maxInputPixels: 100M
        """.write(to: file, atomically: true, encoding: .utf8)
        let planner = Planner(registry: Catalog.registry, limits: ServiceLimits(maxInputPixels: 100_000_000))
        let plan = try PipelineLibrary.planFile(at: file.path, planner: planner).get()
        let input = try VipsImage.solid(width: 11_500, height: 8_600, color: [60, 90, 200]).jpegData(quality: 70)
        let output = try await render(input, plan: plan, size: (400, 299), "99 MP")
        #expect(close(try output.pixel(x: 200, y: 150), [60, 90, 200], within: 5))
        await #expect(throws: RenditionError.self) { _ = try await renderer.render(thumbnail, input: input) }
    }
}
