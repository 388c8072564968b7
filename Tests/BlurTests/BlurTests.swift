import Blur
import RenditionCore
import TestSupport
import Testing
import Vips

@Suite struct BlurTests {
    init() throws { try VipsRuntime.start() }

    func apply(_ options: [String: OptionValue], to image: VipsImage) throws -> VipsImage {
        try Blur.make(options).apply(to: image, context: .forTesting(image))
    }

    /// How far apart neighbouring pixels are on average in the photo's noise band (green): 0 for a flat image.
    func roughness(_ image: VipsImage) throws -> Double {
        let shifted = try image.extracting(left: 1, top: 0, width: image.width - 1, height: image.height)
        let base = try image.extracting(left: 0, top: 0, width: image.width - 1, height: image.height)
        return try VipsOperation.call("subtract", ["left": .image(shifted), "right": .image(base)]).image()
            .applying("abs").extractingBands(1).average()
    }

    @Test func aLargerSigmaSmoothsMore() throws {
        let photo = try Fixtures.photo(width: 160, height: 120)
        let slight = try apply(["sigma": 1], to: photo)
        let strong = try apply(["sigma": 8], to: photo)
        #expect((strong.width, strong.height) == (160, 120))
        #expect(strong.interpretation == .srgb && strong.isEightBit && strong.bands == 3)
        #expect(try roughness(slight) < roughness(photo))
        #expect(try roughness(strong) < roughness(slight) / 2)
        #expect(try abs(strong.average() - photo.average()) < 2, "a blur moves no brightness around overall")
    }

    @Test func aSharpEdgeSpreadsBySigma() throws {
        let step = try VipsImage.solid(width: 200, height: 20, color: [0, 0, 0])
            .drawingRectangle(color: [255, 255, 255], left: 100, top: 0, width: 100, height: 20)
        let blurred = try apply(["sigma": 4], to: step)
        // The edge lies between x = 99 and 100, so pixels 96 and 103 are 3.5 px from it: Φ(∓3.5 / 4) = 19% and
        // 81% of the step for a true Gaussian; libvips cuts the mask where it falls below 0.2 of its peak,
        // which narrows the rise a little.
        let (low, high) = try (blurred.pixel(x: 96, y: 10)[0], blurred.pixel(x: 103, y: 10)[0])
        #expect(abs(low + high - 255) <= 2, "\(low), \(high): the rise is symmetric about the edge")
        #expect(low > 0.12 * 255 && low < 0.2 * 255, "\(low)")
        let wider = try apply(["sigma": 8], to: step)
        #expect(try wider.pixel(x: 96, y: 10)[0] > low + 20, "twice the sigma, twice the spread")
        #expect(try blurred.pixel(x: 10, y: 10)[0] == 0 && blurred.pixel(x: 190, y: 10)[0] == 255)
    }

    @Test func transparentPixelsDoNotBleedTheirColour() throws {
        // Opaque white on the left, transparent *black* on the right: premultiplied, the visible side stays white.
        let colour = try VipsImage.solid(width: 100, height: 20, color: [255, 255, 255])
            .drawingRectangle(color: [0, 0, 0], left: 50, top: 0, width: 50, height: 20)
        let alpha = try VipsImage.solid(width: 100, height: 20, color: [255])
            .drawingRectangle(color: [0], left: 50, top: 0, width: 50, height: 20)
        let image = try colour.appendingBands(of: alpha).declaring(.srgb)
        let result = try apply(["sigma": 3], to: image)
        #expect(result.bands == 4 && result.isEightBit)
        let edge = try result.pixel(x: 50, y: 10)
        #expect(edge[0] >= 254, "\(edge): the half-transparent edge keeps the visible colour")
        #expect(edge[3] > 60 && edge[3] < 200, "\(edge): alpha is blurred too")
    }

    @Test(
        arguments: [
            ([:], "<code>:1:1: blur.sigma: missing; expected a number from 0.3 to 100"),
            (["sigma": 0.2], "<code>:1:1: blur.sigma: expected a number from 0.3 to 100, got 0.2"),
            (["sigma": 101], "<code>:1:1: blur.sigma: expected a number from 0.3 to 100, got 101"),
            (["sigma": "NaN"], "<code>:1:1: blur.sigma: expected a number from 0.3 to 100, got NaN"),
            (["sigma": "soft"], "<code>:1:1: blur.sigma: expected a number from 0.3 to 100, got soft"),
        ] as [([String: OptionValue], String)])
    func badOptionsAreLocatedProblems(options: [String: OptionValue], message: String) {
        expectProblem(Blur.self, options, contains: message)
    }
}
