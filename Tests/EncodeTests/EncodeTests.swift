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

    @Test(arguments: [("jpeg", InputFormat.jpeg), ("webp", .webp), ("avif", .heif), ("png", .png)])
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

    @Test(arguments: ["webp", "avif", "png"])
    func keepsAlpha(format: String) throws {
        let transparent = try VipsImage.solid(width: 100, height: 100, color: [0, 0, 255, 0])
        let output = try Fixtures.decode(try encode(["format": .string(format)], transparent))
        #expect(output.hasAlpha)
        #expect(try output.pixel(x: 50, y: 50)[3] == 0)
    }

    @Test func avifIsEightBitAV1() throws {
        let bytes = try encode(["format": "avif"], try Fixtures.photo(width: 200, height: 150))
        #expect(String(decoding: bytes[8..<12], as: UTF8.self) == "avif", "the ftyp brand")
        let output = try Fixtures.decode(bytes)
        #expect(output.isEightBit && output.width == 200 && output.height == 150)
    }

    @Test func pngPaletteIsSmallerAndColourMapped() throws {
        let photo = try Fixtures.photo(width: 200, height: 150)
        let truecolour = try encode(["format": "png"], photo)
        let palette = try encode(["format": "png", "palette": true], photo)
        #expect(palette.count < truecolour.count / 2)
        // IHDR's colour type (byte 25): 3 is indexed colour, 2 truecolour.
        #expect(palette[25] == 3 && truecolour[25] == 2)
        #expect(try Fixtures.decode(palette).width == 200)
    }

    @Test func autoOffersEachCandidateWithItsOwnOptions() throws {
        let auto = try Encode.make([
            "format": "auto", "avif": .section(["quality": 50]), "jpeg": .section(["progressive": true]),
        ])
        #expect(auto.candidates.map(\.stage.formatToken) == ["avif", "webp", "jpeg"])
        let options = auto.candidates.map { Dictionary(uniqueKeysWithValues: $0.options.map { ($0.name, $0.value) }) }
        #expect(options[0]["quality"] == 50 && options[0]["effort"] == 2)
        #expect(options[1]["quality"] == 80 && options[1]["effort"] == 4)
        #expect(options[2]["progressive"] == true && options[2]["format"] == "jpeg")
        #expect(options.allSatisfy { $0["keep"] == [] })
        let image = try Fixtures.photo(width: 120, height: 90)
        for (candidate, expected) in zip(auto.candidates, [InputFormat.heif, .webp, .jpeg]) {
            let bytes = try candidate.stage.encode(image, context: .forTesting(image, deadline: .none))
            #expect(SniffResult(bytes) == .supported(expected))
        }
        let custom = try Encode.make(["format": "auto", "candidates": ["webp", "png"]])
        #expect(custom.candidates.map(\.stage.mediaType) == ["image/webp", "image/png"])
    }

    @Test func keepsTheICCProfileWhenAsked() throws {
        let tagged = try Fixtures.upright(width: 64, height: 64).iccTransformed(to: "p3")
        let kept = try Fixtures.decode(try encode(["format": "jpeg", "keep": ["icc"]], tagged))
        let stripped = try Fixtures.decode(try encode(["format": "jpeg"], tagged))
        #expect(kept.hasField("icc-profile-data"))
        #expect(!stripped.hasField("icc-profile-data"))
        #expect(!kept.hasField("exif-data") || kept.string("exif-ifd0-Copyright") == nil)
    }

    /// An image tagged with a real sRGB profile keeps its pixels as they are (no transform); one tagged with a
    /// near-sRGB space is converted back to sRGB. PNG, so the encoder moves no pixel.
    @Test(arguments: [
        ("/usr/share/color/argyll/ref/sRGB.icm", true), ("/usr/share/color/icc/colord/sRGB.icc", true),
        ("/usr/share/color/icc/ghostscript/srgb.icc", true), ("/usr/share/color/icc/colord/AdobeRGB1998.icc", false),
        ("/usr/share/color/argyll/ref/DisplayP3.icm", false), ("/usr/share/color/icc/colord/Rec709.icc", false),
    ])
    func transformsOnlyProfilesThatAreNotSRGB(profile: String, isSRGB: Bool) throws {
        let photo = try Fixtures.photo(width: 96, height: 64)
        let tagged = try photo.iccTransformed(to: profile)
        #expect(ICCProfile.isSRGB(try #require(tagged.blob("icc-profile-data"))) == isSRGB)
        let output = try Fixtures.decode(try encode(["format": "png"], tagged)).pixelBytes()
        let taggedPixels = try tagged.pixelBytes()
        if isSRGB {
            #expect(output == taggedPixels)
        } else {
            #expect(output != taggedPixels)
            let back = zip(output, try photo.pixelBytes()).map { abs(Int($0) - Int($1)) }
            #expect(back.reduce(0, +) / back.count <= 2, "converted back to sRGB")
        }
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
        // libvips' error buffer is one per process: with other suites' renders failing in parallel, the
        // message that names the kill can be another job's, so only the failure itself is asserted (the
        // renderer decides "timeout" from the deadline, never from this text).
        #expect(throws: VipsError.self) {
            try encode(["format": "webp"], big, deadline: Deadline(.now - .seconds(1)))
        }
    }

    @Test(
        arguments: [
            ([:], "encode.format: missing; expected one of jpeg, webp, avif, png, auto"),
            (["format": "gif"], "encode.format: expected one of jpeg, webp, avif, png, auto, got gif"),
            (["format": "webp", "progressive": true], "encode.progressive: applies to jpeg only"),
            (["format": "jpeg", "lossless": true], "encode.lossless: applies to webp and avif only"),
            (["format": "png", "quality": 90], "encode.quality: applies to jpeg, webp and avif only"),
            (["format": "jpeg", "palette": true], "encode.palette: applies to png only"),
            (["format": "webp", "effort": 7], "encode.effort: WebP's effort is 0 to 6, got 7"),
            (["format": "jpeg", "quality": 0], "encode.quality: expected an integer from 1 to 100, got 0"),
            (
                ["format": "jpeg", "keep": ["exif"]],
                "encode.keep: expected a list of icc, copyright, each at most once, got [exif]"
            ),
            (["format": "jpeg", "candidates": ["webp", "jpeg"]], "encode.candidates: applies to format: auto only"),
            (["format": "jpeg", "avif": .section(["quality": 50])], "encode.avif: applies to format: auto only"),
            (["format": "auto", "candidates": ["avif", "webp"]], "encode.candidates: must end with jpeg or png"),
            (
                ["format": "auto", "candidates": ["jpeg", "webp", "png"]],
                "encode.candidates: jpeg is decoded by every client"
            ),
            (
                ["format": "auto", "candidates": ["avif", "avif", "jpeg"]],
                "encode.candidates: expected a list of jpeg, webp, avif, png, each at most once, got [avif, avif, jpeg]"
            ),
            (
                ["format": "auto", "candidates": ["heic", "jpeg"]],
                "encode.candidates: expected a list of jpeg, webp, avif, png, each at most once, got [heic, jpeg]"
            ),
            (
                ["format": "auto", "candidates": ["webp", "jpeg"], "avif": .section(["quality": 50])],
                "encode.avif: is not in candidates"
            ),
            (
                ["format": "auto", "quality": 70],
                "encode.quality: with format: auto, write it under each format it is for"
            ),
            (
                ["format": "auto", "avif": .section(["progressive": true])],
                "encode.avif.progressive: unknown option; known options: quality, lossless, effort, subsampling"
            ),
            (
                ["format": "auto", "webp": .section(["effort": 8])],
                "encode.webp.effort: WebP's effort is 0 to 6, got 8"
            ),
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
