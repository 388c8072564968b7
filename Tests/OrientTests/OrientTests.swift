import Orient
import RenditionCore
import TestSupport
import Testing
import Vips

@Suite struct OrientTests {
    init() throws { try VipsRuntime.start() }

    static let shapes = [(width: 300, height: 200), (width: 200, height: 300)]

    @Test(arguments: 1...8, [true, false])
    func everyOrientationEndsUpright(orientation: Int, landscape: Bool) throws {
        let (width, height) = landscape ? (300, 200) : (200, 300)
        let bytes = try Fixtures.jpeg(
            Fixtures.stored(Fixtures.upright(width: width, height: height), orientation: orientation))
        let loaded = try VipsImage.load(VipsInput(bytes: bytes, format: .jpeg), access: .random)
        #expect(loaded.orientation == orientation)

        let stage = try Orient.make()
        let result = try stage.apply(to: loaded, context: .forTesting(loaded))

        #expect(result.width == width && result.height == height, "displayed size")
        #expect(try Marker.corners(of: result) == [.red, .blue, .grey, .grey], "orientation \(orientation)")
        #expect(!result.hasField("orientation"), "the tag is removed")
        let predicted = stage.predict(
            ImageGeometry(width: loaded.width, height: loaded.height, orientation: orientation))
        #expect(predicted == ImageGeometry(width: width, height: height, orientation: 1))
    }

    @Test func missingOrZeroOrientationIsUpright() throws {
        let upright = try Fixtures.upright(width: 120, height: 80)
        for image in [upright, try upright.setting("orientation", to: 0)] {
            let result = try Orient.make().apply(to: image, context: .forTesting(image))
            #expect(result.width == 120 && result.height == 80)
            #expect(try Marker.corners(of: result) == [.red, .blue, .grey, .grey])
        }
    }

    @Test func takesNoOptions() {
        expectProblem(Orient.self, ["angle": 90], contains: "orient.angle: unknown option; it takes no options")
    }
}
