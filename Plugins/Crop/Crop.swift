public import RenditionCore
public import Vips

/// `crop`: cuts the image to an aspect ratio placed by gravity (a compass point, the centre, or where
/// libvips finds entropy or attention), or to an explicit box in pixels or fractions of the image.
public struct Crop: TransformStage {
    public static let name = "crop"
    public static let summary = "Crops to an aspect ratio placed by gravity, or to an explicit box."
    public static let role = TransformRole.geometry

    static let aspect = StageOption.aspectRatio("aspect", help: "Aspect ratio to crop to, such as \"16:9\" or \"1:1\".")
    static let gravity = StageOption<Gravity>.choice(
        "gravity", default: .centre,
        help: "Where to keep the crop: a compass point, centre, or the most entropic/attention-grabbing part.")
    static let left = StageOption<Double?>.number(
        "left", min: 0, help: "Box left edge (with width and height); placed by gravity when absent.")
    static let top = StageOption<Double?>.number(
        "top", min: 0, help: "Box top edge (with width and height); placed by gravity when absent.")
    static let width = StageOption<Double?>.number(
        "width", min: 0, help: "Box width, in pixels of the original or as a fraction.")
    static let height = StageOption<Double?>.number(
        "height", min: 0, help: "Box height, in pixels of the original or as a fraction.")
    static let unit = StageOption<Unit>.choice("unit", default: .px, help: "Unit of left, top, width and height.")

    public static let options = OptionSpec.list(aspect, gravity, left, top, width, height, unit)

    /// What the box's numbers count.
    enum Unit: String, Sendable, CaseIterable {
        case px, fraction
    }

    /// What to cut.
    enum Target: Sendable, Hashable {
        case aspect(AspectRatio)
        case box(left: Double?, top: Double?, width: Double, height: Double, fractional: Bool)
    }

    let target: Target
    let gravity: Gravity

    /// A box in pixels scales with a size variant; a fraction or an aspect ratio already does.
    public func scalesWithOutput(_ option: String) -> Bool {
        guard case .box(_, _, _, _, let fractional) = target, !fractional else { return false }
        return [Self.left.name, Self.top.name, Self.width.name, Self.height.name].contains(option)
    }

    public init(options: StageOptions) throws {
        gravity = options[Self.gravity]
        let fractional = options[Self.unit] == .fraction
        let box = [Self.left, Self.top, Self.width, Self.height]
        let written = box.filter { options.isSet($0) }
        if let ratio = options[Self.aspect] {
            guard written.isEmpty else {
                throw options.problem(written[0], "give either aspect or a box (width and height), not both")
            }
            target = .aspect(ratio)
            return
        }
        guard let width = options[Self.width], let height = options[Self.height] else {
            let message = "give aspect (such as \"1:1\"), or a box with width and height (and optionally left and top)"
            throw written.first.map { options.problem($0, message) } ?? options.problem(message)
        }
        var problems: [PipelineProblem] = []
        for option in written {
            let value = options[option] ?? 0
            if fractional && value > 1 {
                problems.append(
                    options.problem(
                        option, "expected a fraction from 0 to 1 (unit is fraction), got \(OptionValue.number(value))"))
            } else if !fractional && value != value.rounded() {
                problems.append(
                    options.problem(
                        option, "expected whole pixels (or set unit: fraction), got \(OptionValue.number(value))"))
            }
        }
        for option in [Self.width, Self.height] where options[option] == 0 {
            problems.append(options.problem(option, "expected a size above 0, got 0"))
        }
        if options.isSet(Self.left) != options.isSet(Self.top) {
            problems.append(
                options.problem(
                    options.isSet(Self.left) ? Self.left : Self.top,
                    "give both left and top, or neither to place the box by gravity"))
        }
        if options.isSet(Self.left), gravity.isSmart, options.isSet(Self.gravity) {
            problems.append(
                options.problem(
                    Self.gravity, "\(gravity.rawValue) places the box itself; remove left and top or the gravity"))
        }
        let (left, top) = (options[Self.left], options[Self.top])
        if fractional, let left, let top {
            if left + width > 1 {
                problems.append(options.problem(Self.width, "left + width exceeds 1 (the whole image)"))
            }
            if top + height > 1 {
                problems.append(options.problem(Self.height, "top + height exceeds 1 (the whole image)"))
            }
        }
        if !problems.isEmpty { throw PipelineProblems(problems) }
        target = .box(left: left, top: top, width: width, height: height, fractional: fractional)
    }

    public func applies(_ option: String) -> Bool {
        switch target {
        case .aspect: option == Self.aspect.name || option == Self.gravity.name
        case .box(let left, _, _, _, _): option != Self.aspect.name && (left == nil || option != Self.gravity.name)
        }
    }

    public func contribute(to hints: inout LoadHints) {
        // Smart crop scans the image more than once, which a streaming decoder cannot do.
        if gravity.isSmart { hints.randomAccess = true }
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
            if gravity.isSmart, let interesting = Interesting(rawValue: gravity.rawValue) {
                return try image.smartCropped(width: width, height: height, interesting: interesting)
            }
            (left, top) = gravity.offset(spareX: image.width - width, spareY: image.height - height)
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
