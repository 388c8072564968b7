public import RenditionCore
public import Vips

/// `pad`: places the image, unscaled, in a box of `width`×`height` at a compass point, or adds a `margin`
/// on every side, filling the new pixels with `background`.
///
/// Sizes are output pixels at full resolution: after a shrink-on-load they are scaled with the image, so
/// the result is the same as without it.
public struct Pad: TransformStage {
    public static let name = "pad"
    public static let summary = "Places the image unscaled in a box by gravity, or adds a margin on every side."
    public static let role = TransformRole.geometry

    static let width = StageOption<Int?>.integer(
        "width", min: 1, max: 100_000, help: "Box width in pixels (with height); at least the image's width.")
    static let height = StageOption<Int?>.integer(
        "height", min: 1, max: 100_000, help: "Box height in pixels (with width); at least the image's height.")
    static let margin = StageOption<Int?>.integer(
        "margin", min: 1, max: 100_000, help: "Pixels added on every side (instead of a box).")
    static let gravity = StageOption<Gravity>.choice(
        "gravity", default: .centre, help: "Where the image sits in the box: centre or a compass point.")
    static let background = StageOption<Color?>.color(
        "background",
        help: "Colour of the added pixels (alpha allowed); when absent, white, or transparent if the image has alpha.")

    public static let options = OptionSpec.list(width, height, margin, gravity, background)

    /// What the padding makes of the image.
    enum Target: Sendable, Hashable {
        case box(width: Int, height: Int)
        case margin(Int)
    }

    let target: Target
    let gravity: Gravity
    /// The colour written in the file, or `nil` to choose from the image's alpha.
    let background: Color?

    public func scalesWithOutput(_ option: String) -> Bool {
        [Self.width.name, Self.height.name, Self.margin.name].contains(option)
    }

    public init(options: StageOptions) throws {
        gravity = options[Self.gravity]
        background = options[Self.background]
        let box = [Self.width, Self.height].filter { options.isSet($0) }
        if let margin = options[Self.margin] {
            guard box.isEmpty else {
                throw options.problem(Self.margin, "give either a margin or a box (width and height), not both")
            }
            if options.isSet(Self.gravity) {
                throw options.problem(Self.gravity, "gravity applies to a box (width and height) only")
            }
            target = .margin(margin)
            return
        }
        guard let width = options[Self.width], let height = options[Self.height] else {
            let message = "give a box (width and height), or a margin"
            throw box.first.map { options.problem($0, message) } ?? options.problem(message)
        }
        if gravity.isSmart {
            throw options.problem(
                Self.gravity,
                "expected centre or a compass point (pad places the image unscaled), got \(gravity.rawValue)")
        }
        target = .box(width: width, height: height)
    }

    public func applies(_ option: String) -> Bool {
        switch target {
        case .box: option != Self.margin.name
        case .margin: option == Self.margin.name || option == Self.background.name
        }
    }

    /// The padded size of a `width`×`height` image, where `scale` converts full-resolution pixels to these.
    func size(width: Int, height: Int, scale: Double) -> (width: Int, height: Int) {
        func pixels(_ value: Int) -> Int { Int((Double(value) * scale).rounded()) }
        switch target {
        case .box(let boxWidth, let boxHeight): return (pixels(boxWidth), pixels(boxHeight))
        case .margin(let margin): return (width + 2 * pixels(margin), height + 2 * pixels(margin))
        }
    }

    /// The box, or the image plus its margins. A box smaller than the image fails that render instead.
    public func predict(_ geometry: ImageGeometry) -> ImageGeometry {
        var result = geometry
        (result.width, result.height) = size(width: geometry.width, height: geometry.height, scale: 1)
        return result
    }

    public func apply(to image: VipsImage, context: StageContext) throws -> VipsImage {
        var (width, height) = size(width: image.width, height: image.height, scale: context.resolutionScale)
        if context.resolutionScale != 1 {
            // Rounding after shrink-on-load may miss by a pixel; more than that is a real miss.
            if width == image.width - 1 { width = image.width }
            if height == image.height - 1 { height = image.height }
        }
        if width < image.width || height < image.height, case .box(let boxWidth, let boxHeight) = target {
            throw smaller(width: boxWidth, height: boxHeight, image: image, context: context)
        }
        if width == image.width, height == image.height { return image }
        let colour = background ?? .defaultBackground(hasAlpha: image.hasAlpha)
        let canvas = try prepared(image, for: colour)
        let (x, y) = gravity.offset(spareX: width - image.width, spareY: height - image.height)
        return try canvas.embedded(
            x: x, y: y, width: width, height: height, background: bandValues(colour, for: canvas))
    }

    /// `image` in a colour space and band layout that can hold `colour`: CMYK becomes sRGB (as `resize`'s
    /// `fit: contain` does), grey becomes sRGB for a colour that is not grey, and a translucent colour gets
    /// an alpha band to live in.
    private func prepared(_ image: VipsImage, for colour: Color) throws -> VipsImage {
        var result = try image.convertingCMYKToSRGB()
        if result.bands - (result.hasAlpha ? 1 : 0) < 3, colour.red != colour.green || colour.green != colour.blue {
            result = try result.colourspace(.srgb)
        }
        if colour.alpha < 255, !result.hasAlpha {
            result = try result.appendingBand(maximum(of: result))
        }
        return result
    }

    /// `colour`'s values for `image`'s bands, in its range (0–65535 for 16-bit images).
    private func bandValues(_ colour: Color, for image: VipsImage) -> [Double] {
        let factor = maximum(of: image) / 255
        return colour.bands(image.bands).map { $0 * factor }
    }

    private func maximum(of image: VipsImage) -> Double {
        image.interpretation == .rgb16 || image.interpretation == .grey16 ? 65_535 : 255
    }

    private func smaller(width: Int, height: Int, image: VipsImage, context: StageContext) -> RenditionError {
        let scale = context.resolutionScale
        let original =
            "\(Int((Double(image.width) / scale).rounded()))×\(Int((Double(image.height) / scale).rounded()))"
        return RenditionError(
            .unprocessable,
            "The preset's pad box (\(width)×\(height)) is smaller than the \(original) image it gets; make the box larger, or resize the image to fit inside it first."
        )
    }
}
