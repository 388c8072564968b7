import RenditionCore
import Resize
import TestSupport
import Testing
import Vips

@Suite struct ResizeTests {
    init() throws { try VipsRuntime.start() }

    func apply(_ options: [String: OptionValue], to image: VipsImage, context: StageContext? = nil) throws -> VipsImage
    {
        try Resize.make(options).apply(to: image, context: context ?? .forTesting(image))
    }

    @Test(
        arguments: [
            // (options, input size, output size)
            (["width": 400, "height": 400], 1200, 800, 400, 267),
            (["width": 400], 1200, 800, 400, 267),
            (["height": 200], 1200, 800, 300, 200),
            (["width": 400, "height": 400, "fit": "cover"], 1200, 800, 400, 400),
            (["width": 400, "height": 400, "fit": "contain"], 1200, 800, 400, 400),
            (["width": 400, "height": 100, "fit": "fill"], 1200, 800, 400, 100),
            (["width": 2000], 1200, 800, 1200, 800),
            (["width": 2000, "enlarge": true], 1200, 800, 2000, 1333),
            (["width": 300, "height": 300, "fit": "cover"], 200, 100, 200, 100),
            (["width": 300, "height": 300, "fit": "contain"], 200, 100, 300, 300),
        ] as [([String: OptionValue], Int, Int, Int, Int)])
    func outputSizes(options: [String: OptionValue], width: Int, height: Int, outWidth: Int, outHeight: Int) throws {
        let stage = try Resize.make(options)
        let image = try Fixtures.upright(width: width, height: height)
        let result = try stage.apply(to: image, context: .forTesting(image))
        #expect(result.width == outWidth && result.height == outHeight)
        let predicted = stage.predict(ImageGeometry(width: width, height: height))
        #expect(predicted.width == outWidth && predicted.height == outHeight)
    }

    @Test func enlargeFalseIsNoted() throws {
        let image = try Fixtures.upright(width: 120, height: 80)
        let context = StageContext.forTesting(image)
        let result = try apply(["width": 400], to: image, context: context)
        #expect(result.width == 120)
        #expect(context.notes.contains { $0.contains("enlarge: false") })
    }

    @Test func containPadsWithTheBackground() throws {
        let result = try apply(
            ["width": 400, "height": 400, "fit": "contain", "background": "#00ff00"],
            to: Fixtures.upright(width: 800, height: 400))
        #expect(result.width == 400 && result.height == 400)
        let corner = try result.pixel(x: 5, y: 5)
        #expect(corner[0] < 10 && corner[1] > 245 && corner[2] < 10)
        #expect(try Marker(result.pixel(x: 20, y: 120)) == .red, "the image sits in the middle band")
    }

    @Test func containWithTransparentBackgroundAddsAlpha() throws {
        let result = try apply(
            ["width": 100, "height": 100, "fit": "contain", "background": "transparent"],
            to: Fixtures.upright(width: 200, height: 100))
        #expect(result.hasAlpha)
        #expect(try result.pixel(x: 50, y: 2)[3] == 0)
    }

    @Test func coverGravityChoosesTheKeptPart() throws {
        let image = try Fixtures.upright(width: 800, height: 200)
        let west = try apply(["width": 100, "height": 100, "fit": "cover", "gravity": "west"], to: image)
        let east = try apply(["width": 100, "height": 100, "fit": "cover", "gravity": "east"], to: image)
        #expect(try Marker(west.pixel(x: 10, y: 10)) == .red)
        #expect(try Marker(east.pixel(x: 90, y: 10)) == .blue)
    }

    @Test func askingForShrinkOnLoad() throws {
        var hints = LoadHints()
        try Resize.make(["width": 400]).contribute(to: &hints)
        #expect(hints.shrinkOnLoad)
        let geometry = try Resize.make(["width": 400, "height": 400]).predict(ImageGeometry(width: 8000, height: 6000))
        #expect(geometry.scale == 0.05)
        #expect(PipelinePlan.shrinkFactor(forScale: geometry.scale) == 8)
    }

    @Test(arguments: [
        (1.0, 1), (0.6, 1), (0.5, 2), (0.3, 2), (0.25, 4), (0.2, 4), (0.13, 4), (0.125, 8), (0.1, 8), (0.01, 8),
        (2.0, 1),
    ])
    func shrinkFactorLeavesTheDecodedImageAtLeastTheOutputSize(scale: Double, shrink: Int) {
        #expect(PipelinePlan.shrinkFactor(forScale: scale) == shrink)
    }

    @Test func predictionAgreesWithLibvipsForManySizes() throws {
        // Deterministic sweep of awkward sizes and boxes: the plan's prediction is what libvips produces.
        var sweep = Sweep(seed: 42)
        func next(_ range: ClosedRange<Int>) -> Int { sweep.next(range) }
        for _ in 0..<40 {
            let (width, height) = (next(1...900), next(1...900))
            let fits = ["inside", "cover", "contain", "fill"]
            let fit = fits[next(0...3)]
            var options: [String: OptionValue] = [
                "width": .integer(next(1...500)), "height": .integer(next(1...500)), "fit": .string(fit),
            ]
            options["enlarge"] = .boolean(next(0...1) == 1)
            let stage = try Resize.make(options)
            let image = try VipsImage.solid(width: width, height: height, color: [10, 20, 30])
            let result = try stage.apply(to: image, context: .forTesting(image))
            let predicted = stage.predict(ImageGeometry(width: width, height: height))
            #expect(
                predicted.width == result.width && predicted.height == result.height, "\(width)×\(height) \(options)")
        }
    }

    @Test(
        arguments: [
            ([:], "resize: give width, height, or both"),
            (["width": -1], "resize.width: expected an integer from 1 to 100000, got -1"),
            (["width": 10, "fit": "cover"], "resize.fit: fit: cover needs both width and height"),
            (["width": 10, "fit": "stretch"], "resize.fit: expected one of inside, cover, contain, fill, got stretch"),
            (["width": 10, "gravity": "north"], "resize.gravity: gravity applies to fit: cover only"),
            (["width": 10, "kernel": "sinc"], "resize.kernel: expected one of nearest"),
            (["width": 10, "background": "#12"], "resize.background: expected a colour"),
            (["width": 10, "wdith": 10], "resize.wdith: unknown option; known options: width, height"),
        ] as [([String: OptionValue], String)])
    func badOptionsAreLocatedProblems(options: [String: OptionValue], message: String) {
        expectProblem(Resize.self, options, contains: message)
    }
}
