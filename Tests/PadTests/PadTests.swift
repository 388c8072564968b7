import Pad
import RenditionCore
import TestSupport
import Testing
import Vips

@Suite struct PadTests {
    init() throws { try VipsRuntime.start() }

    func apply(_ options: [String: OptionValue], to image: VipsImage, context: StageContext? = nil) throws -> VipsImage
    {
        try Pad.make(options).apply(to: image, context: context ?? .forTesting(image))
    }

    /// The box of pixels that differ from `background`, measured by libvips: (left, top, width, height).
    func content(of image: VipsImage, background: [Double]) throws -> [Int] {
        let found = try VipsOperation.call(
            "find_trim", ["in": .image(image), "background": .doubles(background), "threshold": .double(10)])
        return try ["left", "top", "width", "height"].map { try found.int($0) }
    }

    @Test(
        arguments: [
            // (gravity, where a 300×200 image's top-left corner lands in a 500×500 box)
            ("centre", 100, 150), ("north", 100, 0), ("northeast", 200, 0), ("east", 200, 150),
            ("southeast", 200, 300), ("south", 100, 300), ("southwest", 0, 300), ("west", 0, 150),
            ("northwest", 0, 0),
        ] as [(String, Int, Int)])
    func boxPlacesTheImageByGravityOnTheBackground(gravity: String, left: Int, top: Int) throws {
        let image = try VipsImage.solid(width: 300, height: 200, color: Fixtures.red)
        let result = try apply(
            ["width": 500, "height": 500, "gravity": .string(gravity), "background": "#00ff00"], to: image)
        #expect((result.width, result.height, result.bands) == (500, 500, 3))
        #expect(try content(of: result, background: [0, 255, 0]) == [left, top, 300, 200])
        #expect(try Marker(result.pixel(x: left + 150, y: top + 100)) == .red)
        for (x, y) in [(0, 0), (499, 0), (0, 499), (499, 499)]
        where !(left...left + 299).contains(x) || !(top...top + 199).contains(y) {
            #expect(try result.pixel(x: x, y: y) == [0, 255, 0], "(\(x), \(y)) is background")
        }
    }

    @Test func marginAddsTheSamePixelsOnEverySide() throws {
        let result = try apply(["margin": 12], to: Fixtures.upright(width: 300, height: 200))
        #expect((result.width, result.height) == (324, 224))
        #expect(try content(of: result, background: [255, 255, 255]) == [12, 12, 300, 200])
        #expect(try Marker(result.pixel(x: 14, y: 14)) == .red)
        #expect(try Marker(result.pixel(x: 309, y: 14)) == .blue)
    }

    @Test func defaultBackgroundIsWhiteOrTransparentAfterTheInputsAlpha() throws {
        let opaque = try apply(
            ["width": 100, "height": 100], to: VipsImage.solid(width: 50, height: 50, color: Fixtures.red))
        #expect(opaque.bands == 3)
        #expect(try opaque.pixel(x: 2, y: 2) == [255, 255, 255])
        let translucent = try apply(
            ["width": 100, "height": 100], to: VipsImage.solid(width: 50, height: 50, color: Fixtures.red + [255]))
        #expect(translucent.bands == 4)
        #expect(try translucent.pixel(x: 2, y: 2)[3] == 0)
        #expect(try translucent.pixel(x: 50, y: 50) == Fixtures.red + [255])
    }

    @Test func aTranslucentBackgroundGivesAnOpaqueImageAnAlphaBand() throws {
        let result = try apply(
            ["margin": 4, "background": "#0000ff80"], to: VipsImage.solid(width: 20, height: 20, color: Fixtures.red))
        #expect(result.hasAlpha)
        #expect(try result.pixel(x: 1, y: 1) == [0, 0, 255, 128])
        #expect(try result.pixel(x: 10, y: 10) == Fixtures.red + [255])
    }

    @Test func aGreyImageOnAColourBackgroundBecomesColour() throws {
        let grey = try VipsImage.solid(width: 40, height: 40, color: [128])
        let result = try apply(["margin": 5, "background": "#ff0000"], to: grey)
        #expect(result.bands == 3 && result.interpretation == .srgb)
        #expect(try result.pixel(x: 1, y: 1) == [255, 0, 0])
        #expect(try result.pixel(x: 25, y: 25) == [128, 128, 128])
        let onGrey = try apply(["margin": 5, "background": "#404040"], to: grey)
        #expect(onGrey.bands == 1, "a grey background keeps a grey image grey")
        #expect(try onGrey.pixel(x: 1, y: 1) == [64])
    }

    @Test func cmykInputIsPaddedInSRGB() throws {
        let cmyk = try Fixtures.upright(width: 200, height: 200).iccTransformed(to: "cmyk", inputProfile: "srgb")
        #expect(cmyk.interpretation == .cmyk)
        let result = try apply(["width": 300, "height": 200, "gravity": "west"], to: cmyk)
        #expect(result.interpretation == .srgb && result.bands == 3)
        #expect(try result.pixel(x: 299, y: 100).allSatisfy { $0 > 250 }, "the white background stays white")
        #expect(try Marker(result.pixel(x: 10, y: 10)) == .red)
        #expect(try Marker(result.pixel(x: 190, y: 10)) == .blue)
    }

    @Test func boxesAndMarginsFollowShrinkOnLoad() throws {
        // After a 2× shrink-on-load, sizes in output pixels at full resolution are halved with the image.
        let image = try Fixtures.upright(width: 200, height: 150)
        let context = StageContext.forTesting(image)
        context.resolutionScale = 0.5
        let boxed = try apply(["width": 500, "height": 400], to: image, context: context)
        #expect((boxed.width, boxed.height) == (250, 200))
        let margined = try apply(["margin": 10], to: image, context: context)
        #expect((margined.width, margined.height) == (210, 160))
    }

    @Test func aBoxSmallerThanTheImageFailsTheRender() throws {
        let image = try Fixtures.upright(width: 800, height: 600)
        for options: [String: OptionValue] in [["width": 500, "height": 500], ["width": 1000, "height": 599]] {
            let error = #expect(throws: RenditionError.self) { try apply(options, to: image) }
            #expect(error?.code == .unprocessable)
            let box = "\(options["width"]!)×\(options["height"]!)"
            #expect(
                error?.message
                    == "The preset's pad box (\(box)) is smaller than the 800×600 image it gets; make the box larger, or resize the image to fit inside it first."
            )
        }
    }

    @Test func aBoxTheImageFillsLeavesItAsItIs() throws {
        let image = try Fixtures.upright(width: 300, height: 200)
        let result = try apply(["width": 300, "height": 200], to: image)
        #expect(result === image)
    }

    @Test func predictionAgreesWithApply() throws {
        var sweep = Sweep(seed: 16)
        func next(_ range: ClosedRange<Int>) -> Int { sweep.next(range) }
        for _ in 0..<30 {
            let (width, height) = (next(1...400), next(1...400))
            let options: [String: OptionValue] =
                next(0...1) == 0
                ? ["margin": .integer(next(1...50))]
                : ["width": .integer(width + next(0...200)), "height": .integer(height + next(0...200))]
            let stage = try Pad.make(options)
            let image = try VipsImage.solid(width: width, height: height, color: [10, 20, 30])
            let result = try stage.apply(to: image, context: .forTesting(image))
            let predicted = stage.predict(ImageGeometry(width: width, height: height))
            #expect(
                (predicted.width, predicted.height) == (result.width, result.height), "\(width)×\(height) \(options)")
        }
    }

    @Test func optionsThatDoNothingAreNotListed() throws {
        let margin = try Pad.make(["margin": 5])
        #expect(!margin.applies("gravity") && !margin.applies("width") && margin.applies("background"))
        let box = try Pad.make(["width": 5, "height": 5])
        #expect(box.applies("gravity") && !box.applies("margin"))
    }

    @Test(
        arguments: [
            ([:], "<code>:1:1: pad: give a box (width and height), or a margin"),
            (["width": 10], "<code>:1:1: pad.width: give a box (width and height), or a margin"),
            (
                ["margin": 5, "width": 10],
                "<code>:1:1: pad.margin: give either a margin or a box (width and height), not both"
            ),
            (
                ["width": 10, "height": 10, "gravity": "entropy"],
                "<code>:1:1: pad.gravity: expected centre or a compass point (pad places the image unscaled), got entropy"
            ),
            (
                ["width": 10, "height": 10, "gravity": "attention"],
                "<code>:1:1: pad.gravity: expected centre or a compass point (pad places the image unscaled), got attention"
            ),
            (
                ["margin": 5, "gravity": "north"],
                "<code>:1:1: pad.gravity: gravity applies to a box (width and height) only"
            ),
            (["margin": 0], "<code>:1:1: pad.margin: expected an integer from 1 to 100000, got 0"),
            (["width": 10, "height": -3], "<code>:1:1: pad.height: expected an integer from 1 to 100000, got -3"),
            (
                ["width": 10, "height": 10, "background": "#12"],
                "<code>:1:1: pad.background: expected a colour such as \"#ffffff\", \"#fff\" or \"white\", got #12"
            ),
            (["margin": 5, "colour": "red"], "<code>:1:1: pad.colour: unknown option; known options: width, height"),
        ] as [([String: OptionValue], String)])
    func badOptionsAreLocatedProblems(options: [String: OptionValue], message: String) {
        expectProblem(Pad.self, options, contains: message)
    }
}
