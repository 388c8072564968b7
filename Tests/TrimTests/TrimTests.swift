import RenditionCore
import TestSupport
import Testing
import Trim
import Vips

@Suite struct TrimTests {
    init() throws { try VipsRuntime.start() }

    func apply(_ options: [String: OptionValue], to image: VipsImage, context: StageContext? = nil) throws -> VipsImage
    {
        try Trim.make(options).apply(to: image, context: context ?? .forTesting(image))
    }

    /// `subject` on a `border`-coloured canvas with (left, top, right, bottom) pixels around it.
    func framed(_ subject: VipsImage, by border: [Double], _ sides: (Int, Int, Int, Int)) throws -> VipsImage {
        let (left, top, right, bottom) = sides
        return try subject.embedded(
            x: left, y: top, width: subject.width + left + right, height: subject.height + top + bottom,
            background: border)
    }

    @Test(arguments: [(20, 20, 20, 20), (3, 41, 17, 6), (0, 12, 0, 0), (64, 2, 5, 30)])
    func aKnownBorderIsRemovedToWithinAPixel(left: Int, top: Int, right: Int, bottom: Int) throws {
        let image = try framed(
            Fixtures.upright(width: 200, height: 150), by: [255, 255, 255], (left, top, right, bottom))
        let result = try apply([:], to: image)
        #expect(abs(result.width - 200) <= 1 && abs(result.height - 150) <= 1, "\(result.width)×\(result.height)")
        #expect(try Marker.corners(of: result) == [.red, .blue, .grey, .grey])
    }

    @Test func theDefaultBackgroundIsTheTopLeftPixel() throws {
        // libvips alone would trim white; the border here is dark blue, read from the corner.
        let image = try framed(Fixtures.upright(width: 120, height: 90), by: [10, 10, 60], (15, 15, 15, 15))
        let result = try apply([:], to: image)
        #expect(abs(result.width - 120) <= 1 && abs(result.height - 90) <= 1)
    }

    @Test func anExplicitBackgroundIsTheColourTrimmed() throws {
        let image = try framed(Fixtures.upright(width: 120, height: 90), by: [0, 255, 0], (10, 10, 10, 10))
        let green = try apply(["background": "#00ff00"], to: image)
        #expect(abs(green.width - 120) <= 1 && abs(green.height - 90) <= 1)
        let white = try apply(["background": "white"], to: image)
        #expect((white.width, white.height) == (140, 110), "no border is white, so nothing is trimmed")
    }

    @Test func theThresholdSaysHowCloseCounts() throws {
        let image = try framed(Fixtures.upright(width: 100, height: 80), by: [247, 247, 247], (9, 9, 9, 9))
        let tolerant = try apply(["background": "white"], to: image)
        #expect(abs(tolerant.width - 100) <= 1 && abs(tolerant.height - 80) <= 1)
        let strict = try apply(["background": "white", "threshold": 5], to: image)
        #expect((strict.width, strict.height) == (118, 98))
    }

    @Test func aTransparentBorderIsTrimmed() throws {
        let subject = try VipsImage.solid(width: 60, height: 40, color: Fixtures.red + [255])
        let image = try framed(subject, by: [0, 0, 0, 0], (7, 11, 13, 5))
        let result = try apply([:], to: image)
        #expect(abs(result.width - 60) <= 1 && abs(result.height - 40) <= 1)
        #expect(result.hasAlpha)
    }

    @Test func cmykIsMeasuredAgainstAnRGBBackgroundAndStaysCMYK() throws {
        let image = try framed(Fixtures.upright(width: 100, height: 100), by: [255, 255, 255], (10, 20, 30, 40))
            .iccTransformed(to: "cmyk", inputProfile: "srgb")
        let result = try apply(["background": "white"], to: image)
        #expect(result.interpretation == .cmyk)
        #expect(abs(result.width - 100) <= 1 && abs(result.height - 100) <= 1)
    }

    @Test func aUniformImageIsLeftAsItIsWithANote() throws {
        let image = try VipsImage.solid(width: 64, height: 48, color: [90, 90, 90])
        let context = StageContext.forTesting(image)
        let result = try apply([:], to: image, context: context)
        #expect(result === image)
        #expect(context.notes == ["trim: the image is all background (within threshold 10), so it was left as it is"])
        #expect(
            try Trim.make([:]).predict(ImageGeometry(width: 64, height: 48))
                == ImageGeometry(width: 64, height: 48, isUpperBound: true))
    }

    /// `find_trim` reads the whole image and the cut reads it again, which a sequential decoder refuses
    /// (a JPEG with no rotation to apply failed every render before the hint).
    @Test func asksTheDecoderForRandomAccess() throws {
        var hints = LoadHints()
        try Trim.make().contribute(to: &hints)
        #expect(hints.randomAccess)
    }

    @Test func thePredictionIsTheInputAnUpperBound() throws {
        for sides in [(0, 0, 0, 0), (5, 0, 9, 31), (40, 40, 1, 2)] {
            let image = try framed(Fixtures.upright(width: 90, height: 70), by: [255, 255, 255], sides)
            let stage = try Trim.make([:])
            let result = try stage.apply(to: image, context: .forTesting(image))
            let predicted = stage.predict(ImageGeometry(width: image.width, height: image.height))
            #expect((predicted.width, predicted.height) == (image.width, image.height) && predicted.isUpperBound)
            #expect(result.width <= predicted.width && result.height <= predicted.height)
        }
    }

    @Test func theBackgroundIsListedOnlyWhenWritten() throws {
        #expect(try !Trim.make([:]).applies("background"))
        #expect(try Trim.make(["background": "black"]).applies("background"))
        #expect(try Trim.make([:]).applies("threshold"))
    }

    @Test(
        arguments: [
            (["threshold": -1], "<code>:1:1: trim.threshold: expected a number from 0 to 255, got -1"),
            (["threshold": 300], "<code>:1:1: trim.threshold: expected a number from 0 to 255, got 300"),
            (["threshold": "lots"], "<code>:1:1: trim.threshold: expected a number from 0 to 255, got lots"),
            (
                ["background": "#12"],
                "<code>:1:1: trim.background: expected a colour such as \"#ffffff\", \"#fff\" or \"white\", got #12"
            ),
            (["fuzz": 3], "<code>:1:1: trim.fuzz: unknown option; known options: threshold, background"),
        ] as [([String: OptionValue], String)])
    func badOptionsAreLocatedProblems(options: [String: OptionValue], message: String) {
        expectProblem(Trim.self, options, contains: message)
    }
}
