import Flip
import RenditionCore
import TestSupport
import Testing
import Vips

@Suite struct FlipTests {
    init() throws { try VipsRuntime.start() }

    @Test(
        arguments: [
            // Red marks the top-left corner and blue the top-right; corners are read TL, TR, BL, BR.
            ([:], [Marker.blue, .red, .grey, .grey]),
            (["direction": "horizontal"], [.blue, .red, .grey, .grey]),
            (["direction": "vertical"], [.grey, .grey, .red, .blue]),
        ] as [([String: OptionValue], [Marker])])
    func mirrorsTheMarkers(options: [String: OptionValue], corners: [Marker]) throws {
        let image = try Fixtures.upright(width: 300, height: 200)
        let stage = try Flip.make(options)
        let result = try stage.apply(to: image, context: .forTesting(image))
        #expect((result.width, result.height) == (300, 200))
        #expect(try Marker.corners(of: result) == corners)
        #expect(stage.predict(ImageGeometry(width: 300, height: 200)) == ImageGeometry(width: 300, height: 200))
        // A mirror moves pixels exactly: the first pixel is the opposite corner's.
        let source = stage.direction == .horizontal ? (299, 0) : (0, 199)
        #expect(try result.pixel(x: 0, y: 0) == image.pixel(x: source.0, y: source.1))
    }

    @Test(arguments: [("horizontal", false), ("vertical", true)])
    func verticalAsksForRandomAccess(direction: String, random: Bool) throws {
        var hints = LoadHints()
        try Flip.make(["direction": .string(direction)]).contribute(to: &hints)
        #expect(hints.randomAccess == random)
    }

    @Test func badDirectionIsALocatedProblem() {
        expectProblem(
            Flip.self, ["direction": "diagonal"],
            contains: "<code>:1:1: flip.direction: expected one of horizontal, vertical, got diagonal")
        expectProblem(
            Flip.self, ["axis": "x"], contains: "<code>:1:1: flip.axis: unknown option; known options: direction")
    }
}
