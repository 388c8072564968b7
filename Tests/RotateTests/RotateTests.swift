import RenditionCore
import Rotate
import TestSupport
import Testing
import Vips

@Suite struct RotateTests {
    init() throws { try VipsRuntime.start() }

    func apply(_ options: [String: OptionValue], to image: VipsImage) throws -> VipsImage {
        try Rotate.make(options).apply(to: image, context: .forTesting(image))
    }

    @Test(
        arguments: [
            // Red marks the top-left corner and blue the top-right; corners are read TL, TR, BL, BR.
            (90.0, [Marker.grey, .red, .grey, .blue]),
            (-270, [.grey, .red, .grey, .blue]),
            (180, [.grey, .grey, .blue, .red]),
            (-180, [.grey, .grey, .blue, .red]),
            (270, [.blue, .grey, .red, .grey]),
            (-90, [.blue, .grey, .red, .grey]),
            (0, [.red, .blue, .grey, .grey]),
            (360, [.red, .blue, .grey, .grey]),
        ] as [(Double, [Marker])])
    func quarterTurnsMoveTheMarkedCornersExactly(angle: Double, corners: [Marker]) throws {
        let image = try Fixtures.upright(width: 300, height: 200)
        let stage = try Rotate.make(["angle": .number(angle)])
        let result = try stage.apply(to: image, context: .forTesting(image))
        let quarter = Int(angle).isMultiple(of: 180) ? (300, 200) : (200, 300)
        #expect((result.width, result.height) == quarter, "rotate: \(angle)")
        #expect(try Marker.corners(of: result) == corners, "rotate: \(angle)")
        let predicted = stage.predict(ImageGeometry(width: 300, height: 200))
        #expect((predicted.width, predicted.height) == quarter)
        // No resampling: the outermost pixels keep the exact marker and grey values, nothing is blended in.
        for (x, y) in [(0, 0), (result.width - 1, 0), (0, result.height - 1), (result.width - 1, result.height - 1)] {
            #expect(try [Fixtures.red, Fixtures.blue, Fixtures.grey].contains(result.pixel(x: x, y: y)))
        }
        #expect(try result.average() == image.average())
    }

    @Test func aFreeAngleTurnsClockwiseOntoAWhiteBackground() throws {
        // A blue block at the middle of the top edge goes right under a clockwise turn of 30°.
        let image = try VipsImage.solid(width: 300, height: 200, color: Fixtures.grey)
            .drawingRectangle(color: Fixtures.blue, left: 130, top: 0, width: 40, height: 40)
        let result = try apply(["angle": 30], to: image)
        #expect(try result.pixel(x: 0, y: 0) == [255, 255, 255], "the corners are white")
        #expect(try result.pixel(x: result.width - 1, y: result.height - 1) == [255, 255, 255])
        #expect(try Marker(result.pixel(x: result.width / 2, y: result.height / 2)) == .grey)
        // The block's centre, (150, 20) from the image centre (150, 100), is (0, -80) turned by 30°.
        let (x, y) = (Double(result.width) / 2 + 80 * 0.5, Double(result.height) / 2 - 80 * 0.866)
        #expect(try Marker(result.pixel(x: Int(x), y: Int(y))) == .blue)
        #expect(!result.hasAlpha)
    }

    @Test func theBackgroundIsTransparentForAnImageWithAlphaOrAsWritten() throws {
        let opaque = try Fixtures.upright(width: 120, height: 80)
        let withAlpha = try opaque.appendingBand(255)
        #expect(try apply(["angle": 45], to: withAlpha).pixel(x: 0, y: 0) == [0, 0, 0, 0])
        #expect(try apply(["angle": 45, "background": "#00ff00"], to: opaque).pixel(x: 0, y: 0) == [0, 255, 0])
        let transparent = try apply(["angle": 45, "background": "transparent"], to: opaque)
        #expect(transparent.hasAlpha && transparent.bands == 4)
        #expect(try transparent.pixel(x: 0, y: 0)[3] == 0)
        #expect(try transparent.pixel(x: transparent.width / 2, y: transparent.height / 2)[3] == 255)
    }

    @Test func predictionMatchesTheResultForAnyAngle() throws {
        var sweep = Sweep(seed: 16)
        func next(_ range: ClosedRange<Int>) -> Int { sweep.next(range) }
        for _ in 0..<40 {
            let (width, height) = (next(1...700), next(1...700))
            let angle = Double(next(-36000...36000)) / 100
            let stage = try Rotate.make(["angle": .number(angle)])
            let image = try VipsImage.solid(width: width, height: height, color: [10, 20, 30])
            let result = try stage.apply(to: image, context: .forTesting(image))
            let predicted = stage.predict(ImageGeometry(width: width, height: height))
            #expect(
                abs(predicted.width - result.width) <= 1 && abs(predicted.height - result.height) <= 1,
                "\(width)×\(height) by \(angle)°: predicted \(predicted.width)×\(predicted.height), got \(result.width)×\(result.height)"
            )
        }
    }

    @Test(arguments: [(0.0, false), (90, true), (45, true), (-360, false)])
    func turnsAskForRandomAccess(angle: Double, random: Bool) throws {
        var hints = LoadHints()
        try Rotate.make(["angle": .number(angle)]).contribute(to: &hints)
        #expect(hints.randomAccess == random)
    }

    @Test func theBackgroundCountsOnlyForFreeAngles() throws {
        #expect(try !Rotate.make(["angle": 90]).applies("background"))
        #expect(try Rotate.make(["angle": 10]).applies("background"))
    }

    @Test(
        arguments: [
            (["angle": "NaN"], "<code>:1:1: rotate.angle: expected a number from -360 to 360, got NaN"),
            (["angle": ".nan"], "<code>:1:1: rotate.angle: expected a number from -360 to 360, got .nan"),
            (["angle": "1e9"], "<code>:1:1: rotate.angle: expected a number from -360 to 360, got 1e9"),
            (["angle": 361], "<code>:1:1: rotate.angle: expected a number from -360 to 360, got 361"),
            (["angle": "left"], "<code>:1:1: rotate.angle: expected a number from -360 to 360, got left"),
            ([:], "<code>:1:1: rotate.angle: missing; expected a number from -360 to 360"),
            (
                ["angle": 90, "background": "#000"],
                "<code>:1:1: rotate.background: background applies only to angles that are not multiples of 90"
            ),
            (
                ["angle": 10, "background": "pink"],
                "<code>:1:1: rotate.background: expected a colour such as \"#ffffff\", \"#fff\" or \"white\", got pink"
            ),
        ] as [([String: OptionValue], String)])
    func badOptionsAreLocatedProblems(options: [String: OptionValue], message: String) {
        expectProblem(Rotate.self, options, contains: message)
    }
}
