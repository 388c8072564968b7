public import RenditionCore
public import Vips

/// `trim`: removes the border of background colour around the subject, found by libvips' `find_trim`.
///
/// How much is removed depends on the pixels, so the plan cannot know it: ``predict(_:)`` gives the input
/// size, an upper bound of the output's.
public struct Trim: TransformStage {
    public static let name = "trim"
    public static let summary = "Removes a uniform border: everything within threshold of the background colour."
    public static let role = TransformRole.geometry

    static let threshold = StageOption.number(
        "threshold", min: 0, max: 255, default: 10,
        help: "How far a pixel may differ from the background (0–255 per band) and still be trimmed.")
    static let background = StageOption<Color?>.color(
        "background", help: "The colour to trim away; when absent, the top-left pixel's.")

    public static let options = OptionSpec.list(threshold, background)

    let threshold: Double
    /// The colour written in the file, or `nil` to take the top-left pixel's.
    let background: Color?

    public init(options: StageOptions) throws {
        threshold = options[Self.threshold]
        background = options[Self.background]
    }

    public func applies(_ option: String) -> Bool { option != Self.background.spec.name || background != nil }

    /// The border is measured over the whole image and then cut, so the image is read twice: a streaming
    /// decoder cannot serve that.
    public func contribute(to hints: inout LoadHints) { hints.randomAccess = true }

    /// The input size: the most the output can be (the plan shows an upper bound, and decodes at full size
    /// when a later stage scales, since the scale depends on what is cut).
    public func predict(_ geometry: ImageGeometry) -> ImageGeometry {
        var result = geometry
        result.isUpperBound = true
        return result
    }

    public func apply(to image: VipsImage, context: StageContext) throws -> VipsImage {
        var measured = image
        if background != nil {
            // A colour written in the file is RGB: measure a CMYK image in sRGB, then cut the original.
            measured = try measured.convertingCMYKToSRGB()
        }
        let colourBands = measured.bands - (measured.hasAlpha ? 1 : 0)
        let range: Double = measured.interpretation == .rgb16 || measured.interpretation == .grey16 ? 257 : 1
        let colour =
            try background.map { $0.bands(colourBands).map { $0 * range } }
            ?? Array(measured.pixel(x: 0, y: 0).prefix(colourBands))
        let found = try VipsOperation.call(
            "find_trim",
            ["in": .image(measured), "threshold": .double(threshold * range), "background": .doubles(colour)])
        let (left, top) = (try found.int("left"), try found.int("top"))
        let (width, height) = (try found.int("width"), try found.int("height"))
        guard width > 0, height > 0 else {
            context.note(
                "trim: the image is all background (within threshold \(OptionValue.number(threshold))), so it was left as it is"
            )
            return image
        }
        if left == 0, top == 0, width == image.width, height == image.height { return image }
        return try image.extracting(left: left, top: top, width: width, height: height)
    }
}
