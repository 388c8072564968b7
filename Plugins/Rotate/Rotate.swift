internal import Foundation
public import RenditionCore
public import Vips

/// `rotate`: turns the image clockwise by `angle` degrees (negative turns counter-clockwise).
///
/// Quarter turns (90, 180, 270 and their negatives) move pixels exactly, with no resampling and no
/// background. Any other angle resamples into the rotated image's bounding box and fills the corners with
/// `background`: white by default, or transparent when the image has alpha and `background` is not written.
public struct Rotate: TransformStage {
    public static let name = "rotate"
    public static let summary = "Rotates clockwise: quarter turns exactly, any other angle with a background."
    public static let role = TransformRole.geometry

    static let angle = StageOption<Double?>.number(
        "angle", min: -360, max: 360,
        help: "Degrees clockwise (negative: counter-clockwise); 90, 180 and 270 are exact, no resampling.")
    static let background = StageOption<Color?>.color(
        "background",
        help:
            "Corner colour for angles other than quarter turns (alpha allowed); when absent, white, or transparent if the image has alpha."
    )

    public static let options = OptionSpec.list(angle, background)

    /// What the angle amounts to.
    enum Turn: Sendable, Hashable {
        /// A whole turn (0, 360, -360): the image as it is.
        case whole
        /// An exact quarter turn.
        case quarter(Rotation)
        /// Any other angle, in degrees clockwise from 0 up to 360.
        case free(Double)

        /// Whether pixels are resampled, leaving corners for the background.
        var resamples: Bool {
            if case .free = self { return true }
            return false
        }
    }

    let turn: Turn
    /// The written background, or `nil` to choose by the image's alpha.
    let background: Color?

    public init(options: StageOptions) throws {
        guard let degrees = options[Self.angle] else {
            throw options.problem(Self.angle, "missing; expected \(Self.angle.spec.kind.expectation)")
        }
        var normalized = degrees.truncatingRemainder(dividingBy: 360)
        if normalized < 0 { normalized += 360 }
        turn =
            switch normalized {
            case 0: .whole
            case 90: .quarter(.d90)
            case 180: .quarter(.d180)
            case 270: .quarter(.d270)
            default: .free(normalized)
            }
        background = options[Self.background]
        if !turn.resamples, background != nil {
            throw options.problem(
                Self.background,
                "background applies only to angles that are not multiples of 90 (those turn exactly, with no corners)")
        }
    }

    public func applies(_ option: String) -> Bool {
        turn.resamples || option != Self.background.name
    }

    public func contribute(to hints: inout LoadHints) {
        // Every turn reads the input's rows out of order, which a streaming decoder cannot serve.
        if turn != .whole { hints.randomAccess = true }
    }

    public func predict(_ geometry: ImageGeometry) -> ImageGeometry {
        var result = geometry
        switch turn {
        case .whole, .quarter(.d180): break
        case .quarter:
            result.width = geometry.height
            result.height = geometry.width
        case .free(let degrees):
            let size = Self.boundingBox(width: geometry.width, height: geometry.height, degrees: degrees)
            result.width = size.width
            result.height = size.height
        }
        return result
    }

    /// The size of the box around a `width`×`height` image turned by `degrees`, rounded as libvips' `rotate`
    /// rounds its output area.
    static func boundingBox(width: Int, height: Int, degrees: Double) -> (width: Int, height: Int) {
        let radians = degrees * .pi / 180
        let (cosine, sine) = (abs(cos(radians)), abs(sin(radians)))
        let (w, h) = (Double(width), Double(height))
        return (max(1, Int((w * cosine + h * sine).rounded())), max(1, Int((w * sine + h * cosine).rounded())))
    }

    public func apply(to image: VipsImage, context: StageContext) throws -> VipsImage {
        switch turn {
        case .whole: return image
        case .quarter(let rotation): return try image.rotated(rotation)
        case .free(let degrees):
            // A background colour is RGB; CMYK corners would otherwise come out in the wrong colours.
            var input = try image.convertingCMYKToSRGB()
            let colour = background ?? .defaultBackground(hasAlpha: input.hasAlpha)
            // Colours are 8-bit; a 16-bit image's full scale is 65535.
            let scale: Double = [.rgb16, .grey16].contains(input.interpretation) ? 257 : 1
            if colour.alpha < 255, !input.hasAlpha {
                input = try input.appendingBand(255 * scale)
            }
            return try input.applying(
                "rotate",
                ["angle": .double(degrees), "background": .doubles(colour.bands(input.bands).map { $0 * scale })])
        }
    }
}
