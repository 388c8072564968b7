public import RenditionCore
public import Vips

/// `blur`: a Gaussian blur (libvips `gaussblur`), such as for a tiny blurred placeholder.
///
/// An image with alpha is blurred premultiplied, so transparent pixels' colours do not bleed into the
/// visible ones as dark fringes.
public struct Blur: FilterStage {
    public static let name = "blur"
    public static let summary = "Gaussian blur of the given sigma (premultiplied when the image has alpha)."

    static let sigma = StageOption<Double?>.number(
        "sigma", min: 0.3, max: 100, help: "Standard deviation of the Gaussian, in pixels of the image it gets.")

    public static let options = OptionSpec.list(sigma)

    let sigma: Double

    public init(options: StageOptions) throws {
        guard let sigma = options[Self.sigma] else {
            throw options.problem(Self.sigma, "missing; expected \(Self.sigma.spec.kind.expectation)")
        }
        self.sigma = sigma
    }

    public func apply(to image: VipsImage, context: StageContext) throws -> VipsImage {
        let maxAlpha: Double? =
            image.isEightBit ? 255 : [.rgb16, .grey16].contains(image.interpretation) ? 65535 : nil
        guard image.hasAlpha, let maxAlpha else { return try image.applying("gaussblur", ["sigma": .double(sigma)]) }
        return try image.applying("premultiply", ["max_alpha": .double(maxAlpha)])
            .applying("gaussblur", ["sigma": .double(sigma)])
            .applying("unpremultiply", ["max_alpha": .double(maxAlpha)])
            .applying("round", ["round": .enumNick("rint")])
            .applying("cast", ["format": .enumNick(maxAlpha == 255 ? "uchar" : "ushort")])
    }
}
