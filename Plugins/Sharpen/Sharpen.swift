public import RenditionCore
public import Vips

/// `sharpen`: unsharp masking on lightness only (libvips `sharpen`), the usual fix for the softness a big
/// downscale leaves. Colour and alpha are untouched, and the image keeps its colour space and bit depth.
///
/// `flat` is the strength in smooth areas and `jagged` the strength on edges, so the defaults lift edges
/// more than noise.
public struct Sharpen: FilterStage {
    public static let name = "sharpen"
    public static let summary = "Sharpens lightness (unsharp mask): gentle on flat areas, stronger on edges."

    static let sigma = StageOption.number(
        "sigma", min: 0.3, max: 10, default: 1.0, help: "Radius of the blur the mask subtracts, in pixels.")
    static let flat = StageOption.number(
        "flat", min: 0, max: 10, default: 1.0, help: "Strength in flat areas (libvips m1); 0 leaves them as they are.")
    static let jagged = StageOption.number(
        "jagged", min: 0, max: 20, default: 2.0, help: "Strength on edges and texture (libvips m2).")

    public static let options = OptionSpec.list(sigma, flat, jagged)

    let sigma: Double
    let flat: Double
    let jagged: Double

    public init(options: StageOptions) throws {
        sigma = options[Self.sigma]
        flat = options[Self.flat]
        jagged = options[Self.jagged]
    }

    public func apply(to image: VipsImage, context: StageContext) throws -> VipsImage {
        var input = image
        // libvips converts to LabS and back by the interpretation, and has no route from a bare multiband image.
        if input.interpretation == .multiband || input.interpretation == .other, input.bands >= 3 {
            input = try input.declaring(.srgb)
        }
        return try input.applying("sharpen", ["sigma": .double(sigma), "m1": .double(flat), "m2": .double(jagged)])
    }
}
