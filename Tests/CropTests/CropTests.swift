import Crop
import RenditionCore
import TestSupport
import Testing
import Vips

@Suite struct CropTests {
    init() throws { try VipsRuntime.start() }

    func apply(_ options: [String: OptionValue], to image: VipsImage) throws -> VipsImage {
        try Crop.make(options).apply(to: image, context: .forTesting(image))
    }

    @Test(arguments: [("16:9", 400, 225), ("1:1", 300, 300), ("9:16", 169, 300), ("4:3", 400, 300)])
    func aspectCropSizes(aspect: String, width: Int, height: Int) throws {
        let result = try apply(["aspect": .string(aspect)], to: Fixtures.upright(width: 400, height: 300))
        #expect(result.width == width && result.height == height)
    }

    @Test(arguments: [
        ("northwest", Marker.red), ("west", .red), ("southwest", .red),
        ("northeast", .blue), ("east", .blue), ("southeast", .blue),
    ])
    func compassGravityKeepsThatSide(gravity: String, marker: Marker) throws {
        // A wide image: a square crop keeps the left (red) or right (blue) marker.
        let result = try apply(
            ["aspect": "1:1", "gravity": .string(gravity)], to: Fixtures.upright(width: 600, height: 200))
        #expect(result.width == 200 && result.height == 200)
        #expect(try Marker(result.pixel(x: gravity.hasSuffix("west") ? 10 : 189, y: 10)) == marker)
    }

    @Test func centreKeepsTheMiddle() throws {
        let result = try apply(["aspect": "1:1"], to: Fixtures.upright(width: 600, height: 200))
        #expect(try Marker.corners(of: result) == [.grey, .grey, .grey, .grey])
    }

    @Test(arguments: ["entropy", "attention"])
    func smartGravityFindsTheBusyPart(gravity: String) throws {
        // Flat dark grey with a bright, busy patch on the right: the square crop must move right.
        let patch = try VipsImage.noise(width: 150, height: 200, mean: 200, sigma: 50).appendingBands(
            of: .noise(width: 150, height: 200, mean: 60, sigma: 50)
        )
        .appendingBands(of: .noise(width: 150, height: 200, mean: 60, sigma: 50)).declaring(.srgb)
        let image = try VipsImage.solid(width: 600, height: 200, color: [40, 40, 40]).inserting(patch, x: 440, y: 0)
        let result = try apply(["aspect": "1:1", "gravity": .string(gravity)], to: image)
        #expect(result.width == 200 && result.height == 200)
        #expect(try result.extractingBands(0).average() > 100, "the crop contains the patch")
        var hints = LoadHints()
        try Crop.make(["aspect": "1:1", "gravity": .string(gravity)]).contribute(to: &hints)
        #expect(hints.randomAccess)
    }

    @Test func explicitPixelBox() throws {
        let result = try apply(
            ["left": 0, "top": 0, "width": 50, "height": 40], to: Fixtures.upright(width: 400, height: 300))
        #expect(result.width == 50 && result.height == 40)
        #expect(try Marker(result.pixel(x: 25, y: 20)) == .red)
    }

    @Test func explicitFractionBox() throws {
        let result = try apply(
            ["left": 0.75, "top": 0, "width": 0.25, "height": 0.5, "unit": "fraction"],
            to: Fixtures.upright(width: 400, height: 300))
        #expect(result.width == 100 && result.height == 150)
        #expect(try Marker(result.pixel(x: 50, y: 20)) == .blue)
    }

    @Test func boxWithoutCornerIsPlacedByGravity() throws {
        let result = try apply(
            ["width": 100, "height": 100, "gravity": "northeast"], to: Fixtures.upright(width: 400, height: 300))
        #expect(try Marker(result.pixel(x: 90, y: 10)) == .blue)
    }

    @Test func pixelBoxesFollowShrinkOnLoad() throws {
        // After a 4× shrink-on-load, a box in original pixels is scaled to the decoded image.
        let image = try Fixtures.upright(width: 400, height: 300)
        let context = StageContext.forTesting(image)
        context.resolutionScale = 0.25
        let result = try Crop.make(["left": 0, "top": 0, "width": 200, "height": 200]).apply(
            to: image, context: context)
        #expect(result.width == 50 && result.height == 50)
    }

    @Test func boxOutsideTheImageIsAnError() throws {
        let image = try Fixtures.upright(width: 200, height: 150)
        for options: [String: OptionValue] in [
            ["left": 150, "top": 0, "width": 100, "height": 100],
            ["width": 300, "height": 100],
        ] {
            let error = #expect(throws: RenditionError.self) { try apply(options, to: image) }
            #expect(error?.code == .unprocessable)
            #expect(error?.message.contains("200×150") == true)
        }
    }

    @Test(
        arguments: [
            (["aspect": "1:1", "width": 10, "height": 10], "crop.width: give either aspect or a box"),
            (["width": 10], "give aspect"),
            (["width": 10.5, "height": 10], "crop.width: expected whole pixels"),
            (["width": 2, "height": 0.5, "unit": "fraction"], "crop.width: expected a fraction from 0 to 1"),
            (["left": 1, "width": 10, "height": 10], "crop.left: give both left and top"),
            (["aspect": "wide"], "crop.aspect: expected an aspect ratio such as \"16:9\", got wide"),
            (["gravity": "up", "aspect": "1:1"], "crop.gravity: expected one of centre, north"),
            (
                ["left": 0.5, "top": 0, "width": 0.75, "height": 0.5, "unit": "fraction"],
                "crop.width: left + width exceeds 1"
            ),
        ] as [([String: OptionValue], String)])
    func badOptionsAreLocatedProblems(options: [String: OptionValue], message: String) {
        expectProblem(Crop.self, options, contains: message)
    }

    @Test func predictionMatchesTheResult() throws {
        for options: [String: OptionValue] in [["aspect": "16:9"], ["aspect": "2:3"], ["width": 120, "height": 80]] {
            let image = try Fixtures.upright(width: 333, height: 251)
            let stage = try Crop.make(options)
            let predicted = stage.predict(ImageGeometry(width: 333, height: 251))
            let result = try stage.apply(to: image, context: .forTesting(image))
            #expect(predicted.width == result.width && predicted.height == result.height)
        }
    }
}
