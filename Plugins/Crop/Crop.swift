public import RenditionCore
public import Vips

/// `crop`: cuts the image to an aspect ratio placed by gravity (a compass point, the centre, or where
/// libvips finds entropy or attention), or to an explicit box in pixels or fractions of the image.
public struct Crop: TransformStage {
    public static let name = "crop"
    public static let summary = "Crops to an aspect ratio placed by gravity, or to an explicit box."
    public static let role = TransformRole.geometry

    public static let options: [OptionSpec] = [
        OptionSpec("aspect", .aspectRatio, help: "Aspect ratio to crop to, such as \"16:9\" or \"1:1\"."),
        OptionSpec(
            "gravity", .choice(Gravity.all), default: "centre",
            help: "Where to keep the crop: a compass point, centre, or the most entropic/attention-grabbing part."),
        OptionSpec(
            "left", .number(min: 0, max: .infinity),
            help: "Box left edge (with width and height); placed by gravity when absent."),
        OptionSpec(
            "top", .number(min: 0, max: .infinity),
            help: "Box top edge (with width and height); placed by gravity when absent."),
        OptionSpec(
            "width", .number(min: 0, max: .infinity), help: "Box width, in pixels of the original or as a fraction."),
        OptionSpec(
            "height", .number(min: 0, max: .infinity), help: "Box height, in pixels of the original or as a fraction."),
        OptionSpec("unit", .choice(["px", "fraction"]), default: "px", help: "Unit of left, top, width and height."),
    ]

    /// What to cut.
    enum Target: Sendable, Hashable {
        case aspect(AspectRatio)
        case box(left: Double?, top: Double?, width: Double, height: Double, fractional: Bool)
    }

    let target: Target
    let gravity: String

    public init(options: StageOptions) throws {
        gravity = options.string("gravity") ?? "centre"
        let fractional = options.string("unit") == "fraction"
        let boxKeys = ["left", "top", "width", "height"].filter(options.isSet)
        if let text = options.string("aspect") {
            guard boxKeys.isEmpty else {
                throw options.problem(boxKeys[0], "give either aspect or a box (width and height), not both")
            }
            guard let ratio = AspectRatio(parsing: text) else {
                throw options.problem("aspect", "expected an aspect ratio such as \"16:9\"")
            }
            target = .aspect(ratio)
            return
        }
        guard let width = options.number("width"), let height = options.number("height") else {
            throw options.problem(
                boxKeys.first,
                "give aspect (such as \"1:1\"), or a box with width and height (and optionally left and top)")
        }
        var problems: [PipelineProblem] = []
        for key in boxKeys {
            let value = options.number(key) ?? 0
            if fractional && value > 1 {
                problems.append(
                    options.problem(
                        key, "expected a fraction from 0 to 1 (unit is fraction), got \(OptionValue.number(value))"))
            } else if !fractional && value != value.rounded() {
                problems.append(
                    options.problem(
                        key, "expected whole pixels (or set unit: fraction), got \(OptionValue.number(value))"))
            }
        }
        for key in ["width", "height"] where options.number(key) == 0 {
            problems.append(options.problem(key, "expected a size above 0, got 0"))
        }
        if options.isSet("left") != options.isSet("top") {
            problems.append(
                options.problem(
                    options.isSet("left") ? "left" : "top",
                    "give both left and top, or neither to place the box by gravity"))
        }
        if options.isSet("left"), Gravity.smart.contains(gravity), options.isSet("gravity") {
            problems.append(
                options.problem("gravity", "\(gravity) places the box itself; remove left and top or the gravity"))
        }
        if fractional, let left = options.number("left"), let top = options.number("top") {
            if left + width > 1 {
                problems.append(options.problem("width", "left + width exceeds 1 (the whole image)"))
            }
            if top + height > 1 {
                problems.append(options.problem("height", "top + height exceeds 1 (the whole image)"))
            }
        }
        if !problems.isEmpty { throw PipelineProblems(problems) }
        target = .box(
            left: options.number("left"), top: options.number("top"), width: width, height: height,
            fractional: fractional)
    }

    public func applies(_ option: String) -> Bool {
        switch target {
        case .aspect: option == "aspect" || option == "gravity"
        case .box(let left, _, _, _, _): option != "aspect" && (left == nil || option != "gravity")
        }
    }

    public func contribute(to hints: inout LoadHints) {
        // Smart crop scans the image more than once, which a streaming decoder cannot do.
        if Gravity.smart.contains(gravity) { hints.randomAccess = true }
    }

    /// The crop size for an image of `width`×`height`, where `scale` converts original pixels to these.
    func size(width: Int, height: Int, scale: Double) -> (width: Int, height: Int) {
        switch target {
        case .aspect(let ratio):
            if Double(width) / Double(height) > ratio.ratio {
                return (max(1, min(width, Int((Double(height) * ratio.ratio).rounded()))), height)
            }
            return (width, max(1, min(height, Int((Double(width) / ratio.ratio).rounded()))))
        case .box(_, _, let boxWidth, let boxHeight, let fractional):
            let (sx, sy) = fractional ? (Double(width), Double(height)) : (scale, scale)
            return (max(1, Int((boxWidth * sx).rounded())), max(1, Int((boxHeight * sy).rounded())))
        }
    }

    public func predict(_ geometry: ImageGeometry) -> ImageGeometry {
        var result = geometry
        let cropped = size(width: geometry.width, height: geometry.height, scale: 1)
        result.width = min(cropped.width, geometry.width)
        result.height = min(cropped.height, geometry.height)
        return result
    }

    public func apply(to image: VipsImage, context: StageContext) throws -> VipsImage {
        let (width, height) = size(width: image.width, height: image.height, scale: context.resolutionScale)
        var left: Int
        var top: Int
        if case .box(.some(let boxLeft), .some(let boxTop), _, _, let fractional) = target {
            let (sx, sy) =
                fractional
                ? (Double(image.width), Double(image.height)) : (context.resolutionScale, context.resolutionScale)
            left = Int((boxLeft * sx).rounded())
            top = Int((boxTop * sy).rounded())
        } else {
            guard width <= image.width, height <= image.height else {
                throw outside(width: width, height: height, image: image, context: context)
            }
            if let interesting = Interesting(rawValue: gravity), Gravity.smart.contains(gravity) {
                return try image.smartCropped(width: width, height: height, interesting: interesting)
            }
            (left, top) = Gravity.offset(gravity, spareX: image.width - width, spareY: image.height - height)
        }
        // Rounding after shrink-on-load may overshoot by a pixel; more than that is a real miss.
        if left + width == image.width + 1 { left -= 1 }
        if top + height == image.height + 1 { top -= 1 }
        guard left >= 0, top >= 0, left + width <= image.width, top + height <= image.height else {
            throw outside(width: width, height: height, image: image, context: context)
        }
        if left == 0, top == 0, width == image.width, height == image.height { return image }
        return try image.extracting(left: left, top: top, width: width, height: height)
    }

    private func outside(width: Int, height: Int, image: VipsImage, context: StageContext) -> RenditionError {
        let scale = context.resolutionScale
        let original =
            "\(Int((Double(image.width) / scale).rounded()))×\(Int((Double(image.height) / scale).rounded()))"
        return RenditionError(
            .unprocessable,
            "The preset's crop box does not fit inside this \(original) image; use a smaller box, fractions, or an aspect crop."
        )
    }
}
