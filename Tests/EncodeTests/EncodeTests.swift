import Encode
import RenditionCore
import TestSupport
import Testing
import Vips

@Suite struct EncodeTests {
    init() throws { try VipsRuntime.start() }

    func encode(_ options: [String: OptionValue], _ image: VipsImage, deadline: Deadline = .none) throws -> [UInt8] {
        try Encode.make(options).encode(image, context: .forTesting(image, deadline: deadline))
    }

    /// A camera-like JPEG: orientation tag, EXIF block, and an XMP-free sRGB image.
    func cameraImage() throws -> VipsImage {
        let bytes = try Fixtures.jpeg(Fixtures.stored(Fixtures.upright(width: 300, height: 200), orientation: 6))
        return try Fixtures.decode(bytes)
    }

    @Test(arguments: [("jpeg", InputFormat.jpeg), ("webp", .webp)])
    func writesTheAskedFormatWithoutMetadata(format: String, expected: InputFormat) throws {
        let input = try cameraImage()
        #expect(input.hasField("exif-data"))
        let bytes = try encode(["format": .string(format)], input)
        #expect(SniffResult(bytes) == .supported(expected))
        let output = try Fixtures.decode(bytes)
        #expect(output.width == input.width && output.height == input.height)
        #expect(!output.hasField("exif-data"), "EXIF is stripped")
        #expect(!output.hasField("xmp-data") && !output.hasField("icc-profile-data"))
        #expect(output.orientation == 1)
    }

    @Test func progressiveFlagIsHonoured() throws {
        let image = try Fixtures.photo(width: 200, height: 150)
        func hasMarker(_ bytes: [UInt8], _ marker: UInt8) -> Bool {
            (0..<bytes.count - 1).contains { bytes[$0] == 0xFF && bytes[$0 + 1] == marker }
        }
        let progressive = try encode(["format": "jpeg", "progressive": true], image)
        let baseline = try encode(["format": "jpeg"], image)
        #expect(hasMarker(progressive, 0xC2) && !hasMarker(progressive, 0xC0))
        #expect(hasMarker(baseline, 0xC0) && !hasMarker(baseline, 0xC2))
    }

    @Test(arguments: [true, false])
    func cmykBecomesSRGB(withProfile: Bool) throws {
        var cmyk = try Fixtures.upright(width: 200, height: 200).iccTransformed(to: "cmyk")
        if !withProfile { cmyk = try cmyk.removingFields { $0 == "icc-profile-data" } }
        let input = try Fixtures.decode(try cmyk.jpegData(quality: 95, strip: false))
        #expect(input.interpretation == .cmyk && input.bands == 4)
        #expect(input.hasField("icc-profile-data") == withProfile)

        let output = try Fixtures.decode(try encode(["format": "jpeg", "quality": 95], input))
        #expect(output.interpretation == .srgb && output.bands == 3)
        #expect(try Marker.corners(of: output) == [.red, .blue, .grey, .grey])
    }

    @Test func sixteenBitBecomesEightBit() throws {
        let deep = try Fixtures.upright(width: 120, height: 80).colourspace(.rgb16)
        let input = try Fixtures.decode(try deep.pngData())
        #expect(input.interpretation == .rgb16 && !input.isEightBit)
        let output = try Fixtures.decode(try encode(["format": "webp", "quality": 95], input))
        #expect(output.isEightBit)
        #expect(try Marker.corners(of: output) == [.red, .blue, .grey, .grey])
    }

    @Test func jpegFlattensAlphaOntoTheBackground() throws {
        let transparent = try VipsImage.solid(width: 100, height: 100, color: [0, 0, 255, 0])
        let bytes = try encode(["format": "jpeg", "background": "#ff0000", "quality": 95], transparent)
        let output = try Fixtures.decode(bytes)
        #expect(output.bands == 3)
        #expect(try Marker(output.pixel(x: 50, y: 50)) == .red)
    }

    @Test func webpKeepsAlpha() throws {
        let transparent = try VipsImage.solid(width: 100, height: 100, color: [0, 0, 255, 0])
        let output = try Fixtures.decode(try encode(["format": "webp"], transparent))
        #expect(output.hasAlpha)
        #expect(try output.pixel(x: 50, y: 50)[3] == 0)
    }

    @Test func keepsTheICCProfileWhenAsked() throws {
        let tagged = try Fixtures.upright(width: 64, height: 64).iccTransformed(to: "p3")
        let kept = try Fixtures.decode(try encode(["format": "jpeg", "keep": ["icc"]], tagged))
        let stripped = try Fixtures.decode(try encode(["format": "jpeg"], tagged))
        #expect(kept.hasField("icc-profile-data"))
        #expect(!stripped.hasField("icc-profile-data"))
        #expect(!kept.hasField("exif-data") || kept.string("exif-ifd0-Copyright") == nil)
    }

    @Test func webpCarriesNoMetadataChunks() throws {
        let bytes = try encode(["format": "webp"], try cameraImage())
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(!text.contains("EXIF") && !text.contains("XMP ") && !text.contains("ICCP"))
        #expect(try Fixtures.decode(bytes).width == 200, "still a valid WebP")
    }

    @Test func keepsCopyrightWhenAsked() throws {
        let marked = try cameraImage().setting("exif-ifd0-Copyright", to: "ACME Photos")
        let camera = try Fixtures.decode(try Fixtures.jpeg(marked))
        #expect(camera.string("exif-ifd0-Copyright")?.contains("ACME Photos") == true)

        let kept = try Fixtures.decode(try encode(["format": "jpeg", "keep": ["copyright"]], camera))
        #expect(kept.string("exif-ifd0-Copyright")?.contains("ACME Photos") == true)
        #expect(kept.orientation == 1)
        let stripped = try Fixtures.decode(try encode(["format": "jpeg"], camera))
        #expect(stripped.string("exif-ifd0-Copyright") == nil)
    }

    @Test func greyInputEncodes() throws {
        let grey = try VipsImage.ramp(width: 256, height: 32)
        for format: OptionValue in ["jpeg", "webp"] {
            let output = try Fixtures.decode(try encode(["format": format], grey))
            #expect(output.width == 256 && output.height == 32)
        }
    }

    @Test func deadlineIsEnforcedDuringEncode() throws {
        // The deadline is already past: the encode starts, and libvips kills the evaluation.
        let big = try Fixtures.photo(width: 4000, height: 4000)
        let error = #expect(throws: VipsError.self) {
            try encode(["format": "webp"], big, deadline: Deadline(.now - .seconds(1)))
        }
        #expect(error?.kind == .killed)
    }

    @Test(
        arguments: [
            ([:], "encode.format: missing; expected one of jpeg, webp"),
            (["format": "png"], "encode.format: expected one of jpeg, webp, got png"),
            (["format": "webp", "progressive": true], "encode.progressive: applies to jpeg only"),
            (["format": "jpeg", "lossless": true], "encode.lossless: applies to webp only"),
            (["format": "jpeg", "quality": 0], "encode.quality: expected an integer from 1 to 100, got 0"),
            (["format": "jpeg", "keep": ["exif"]], "encode.keep: expected a list of icc, copyright, got [exif]"),
        ] as [([String: OptionValue], String)])
    func badOptionsAreLocatedProblems(options: [String: OptionValue], message: String) {
        expectProblem(Encode.self, options, contains: message)
    }

    @Test func onlyApplicableOptionsCount() throws {
        let webp = try Encode.make(["format": "webp"])
        #expect(!webp.applies("progressive") && webp.applies("effort") && webp.applies("quality"))
        let jpeg = try Encode.make(["format": "jpeg"])
        #expect(jpeg.applies("progressive") && !jpeg.applies("effort"))
    }
}
