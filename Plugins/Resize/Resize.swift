public import RenditionCore
public import Vips

/// `resize`: scales to a width and/or height with a fit mode, never enlarging unless asked.
///
/// The plan's load hints ask the decoder to shrink while decoding (JPEG and WebP), so a 48 MP photo
/// made into a 400 px rendition is decoded at a fraction of its size; this stage then resamples the
/// rest of the way with a proper kernel.
public struct Resize: TransformStage {
    public static let name = "resize"
    public static let summary = "Scales to a width and/or height: fit inside, cover, contain (pad) or fill."
    public static let role = TransformRole.geometry

    public enum Fit: String, Sendable, CaseIterable {
        /// Fits inside the box, keeping the aspect ratio.
        case inside
        /// Covers the box, keeping the aspect ratio, then crops the overflow by `gravity`.
        case cover
        /// Fits inside the box and pads to exactly the box with `background`.
        case contain
        /// Stretches to exactly the box.
        case fill
    }

    static let width = StageOption<Int?>.integer("width", min: 1, max: 100_000, help: "Target width in pixels.")
    static let height = StageOption<Int?>.integer("height", min: 1, max: 100_000, help: "Target height in pixels.")
    static let fit = StageOption<Fit>.choice("fit", default: .inside, help: "How the image meets the box.")
    static let enlarge = StageOption.boolean(
        "enlarge", default: false, help: "Allow scaling up images smaller than the box.")
    static let kernel = StageOption<Kernel>.choice("kernel", default: .lanczos3, help: "Resampling kernel.")
    static let background = StageOption.color(
        "background", default: "#ffffff", help: "Padding colour for fit: contain (alpha allowed).")
    static let gravity = StageOption<Gravity>.choice("gravity", default: .centre, help: "Which part fit: cover keeps.")

    public static let options = OptionSpec.list(width, height, fit, enlarge, kernel, background, gravity)

    public let width: Int?
    public let height: Int?
    public let fit: Fit
    public let enlarge: Bool
    let kernel: Kernel
    let background: Color
    let gravity: Gravity

    public init(options: StageOptions) throws {
        width = options[Self.width]
        height = options[Self.height]
        fit = options[Self.fit]
        enlarge = options[Self.enlarge]
        kernel = options[Self.kernel]
        background = options[Self.background]
        gravity = options[Self.gravity]
        guard width != nil || height != nil else {
            throw options.problem("give width, height, or both")
        }
        if fit != .inside, width == nil || height == nil {
            throw options.problem(Self.fit, "fit: \(fit.rawValue) needs both width and height")
        }
        if fit != .cover, options.isSet(Self.gravity) {
            throw options.problem(Self.gravity, "gravity applies to fit: cover only")
        }
        if fit != .contain, options.isSet(Self.background) {
            throw options.problem(Self.background, "background applies to fit: contain only")
        }
    }

    public func applies(_ option: String) -> Bool {
        switch option {
        case Self.gravity.name: fit == .cover
        case Self.background.name: fit == .contain
        default: true
        }
    }

    public var outputSize: (width: Int?, height: Int?)? { (width, height) }

    public func scalesWithOutput(_ option: String) -> Bool { option == Self.width.name || option == Self.height.name }

    public func contribute(to hints: inout LoadHints) {
        hints.shrinkOnLoad = true
        if fit == .cover, gravity.isSmart { hints.randomAccess = true }
    }

    /// Scale factors and sizes for an image of `inWidth`×`inHeight`.
    struct Layout: Equatable {
        var scaleX: Double
        var scaleY: Double
        /// Size after resampling.
        var resized: (width: Int, height: Int)
        /// Size after cropping (cover) or padding (contain).
        var final: (width: Int, height: Int)
        /// Whether `enlarge: false` held the scale at 1.
        var clamped: Bool

        static func == (a: Layout, b: Layout) -> Bool {
            a.scaleX == b.scaleX && a.scaleY == b.scaleY && a.resized == b.resized && a.final == b.final
                && a.clamped == b.clamped
        }
    }

    func layout(width inWidth: Int, height inHeight: Int) -> Layout {
        let w = Double(inWidth)
        let h = Double(inHeight)
        let sx = width.map { Double($0) / w }
        let sy = height.map { Double($0) / h }
        var scaleX: Double
        var scaleY: Double
        switch fit {
        case .inside, .contain:
            scaleX = min(sx ?? .infinity, sy ?? .infinity)
            scaleY = scaleX
        case .cover:
            scaleX = max(sx ?? 0, sy ?? 0)
            scaleY = scaleX
        case .fill:
            scaleX = sx ?? 1
            scaleY = sy ?? 1
        }
        var clamped = false
        if !enlarge {
            if scaleX > 1 { scaleX = 1; clamped = true }
            if scaleY > 1 { scaleY = 1; clamped = true }
        }
        // The side the box names exactly gets exactly its size; the other side follows the ratio.
        func side(_ target: Int?, _ scale: Double, _ length: Double, _ exact: Bool) -> Int {
            if exact, let target, !clamped || scale == Double(target) / length { return target }
            return max(1, Int((length * scale).rounded()))
        }
        let exactX = sx.map { $0 == scaleX } ?? false
        let exactY = sy.map { $0 == scaleY } ?? false
        let resized = (side(width, scaleX, w, exactX), side(height, scaleY, h, exactY))
        var final = resized
        switch fit {
        case .cover:
            final = (min(resized.0, width ?? resized.0), min(resized.1, height ?? resized.1))
        case .contain:
            final = (width ?? resized.0, height ?? resized.1)
            if clamped { final = (max(final.0, resized.0), max(final.1, resized.1)) }
        default: break
        }
        return Layout(scaleX: scaleX, scaleY: scaleY, resized: resized, final: final, clamped: clamped)
    }

    public func predict(_ geometry: ImageGeometry) -> ImageGeometry {
        let layout = layout(width: geometry.width, height: geometry.height)
        var result = geometry
        result.width = layout.final.width
        result.height = layout.final.height
        result.scale *= max(layout.scaleX, layout.scaleY)
        return result
    }

    public func apply(to image: VipsImage, context: StageContext) throws -> VipsImage {
        let layout = layout(width: image.width, height: image.height)
        if layout.clamped {
            context.warn(
                RenderWarning(
                    .enlargeClamped,
                    "enlarge: false kept \(Int(Double(image.width) / context.resolutionScale))×\(Int(Double(image.height) / context.resolutionScale)) below the requested size"
                ))
        }
        var result = image
        if layout.resized.width != image.width || layout.resized.height != image.height {
            result = try image.resized(
                horizontalScale: Double(layout.resized.width) / Double(image.width),
                verticalScale: Double(layout.resized.height) / Double(image.height), kernel: kernel)
            // libvips rounds its output size itself; pin it to the planned size.
            if result.width > layout.resized.width || result.height > layout.resized.height {
                result = try result.extracting(
                    left: 0, top: 0, width: min(result.width, layout.resized.width),
                    height: min(result.height, layout.resized.height))
            }
        }
        context.resolutionScale = 1
        switch fit {
        case .cover where result.width > layout.final.width || result.height > layout.final.height:
            if gravity.isSmart, let interesting = Interesting(rawValue: gravity.rawValue) {
                return try result.smartCropped(
                    width: layout.final.width, height: layout.final.height, interesting: interesting)
            }
            let (x, y) = gravity.offset(
                spareX: result.width - layout.final.width, spareY: result.height - layout.final.height)
            return try result.extracting(left: x, top: y, width: layout.final.width, height: layout.final.height)
        case .contain where result.width < layout.final.width || result.height < layout.final.height:
            result = try result.convertingCMYKToSRGB()
            if background.alpha < 255, !result.hasAlpha {
                result = try result.appendingBand(255)
            }
            return try result.embedded(
                x: (layout.final.width - result.width) / 2, y: (layout.final.height - result.height) / 2,
                width: layout.final.width, height: layout.final.height, background: background.bands(result.bands))
        default:
            return result
        }
    }
}
