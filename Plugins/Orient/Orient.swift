public import RenditionCore
public import Vips

/// `orient`: turns the image upright by its EXIF orientation (1–8; missing or 0 counts as 1) and removes
/// the tag, so the rendition displays the same everywhere, with or without metadata.
///
/// It runs after shrink-on-load, so the rotation handles the small decoded image, not the original.
public struct Orient: TransformStage {
    public static let name = "orient"
    public static let summary = "Applies the EXIF orientation (rotate/flip) and removes the tag."
    public static let options: [OptionSpec] = []
    public static let role = TransformRole.orientation

    public init(options: StageOptions) throws {}

    public func predict(_ geometry: ImageGeometry) -> ImageGeometry {
        var result = geometry
        if (5...8).contains(geometry.orientation) {
            result.width = geometry.height
            result.height = geometry.width
        }
        result.orientation = 1
        return result
    }

    public func apply(to image: VipsImage, context: StageContext) throws -> VipsImage {
        // autorot applies any of the eight orientations and removes the tag in one libvips operation.
        if image.orientation != 1 {
            return try image.autorotated()
        }
        return image.hasField("orientation") ? try image.removingFields { $0 == "orientation" } : image
    }
}
