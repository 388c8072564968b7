internal import Vips

/// A generated sample original, so the quick start works with nothing but the toolchain.
public enum SampleImage {
    /// A 2400×1600 colourful gradient with a red square top-left and a blue square top-right, stored the
    /// way a phone held sideways stores it (pixels rotated, EXIF orientation 6), so renditions show that
    /// orientation is applied: upright, the red square is top-left.
    public static func jpeg() throws -> [UInt8] {
        do {
            try VipsRuntime.start()
            let (width, height) = (2400, 1600)
            let across = try VipsImage.ramp(width: width, height: height)
            let down = try VipsImage.ramp(width: height, height: width).rotated(.d90).flipped(.horizontal)
            let side = height / 4
            let upright = try across.appendingBands(of: down).appendingBands(of: across.flipped(.horizontal))
                .declaring(.srgb)
                .drawingRectangle(color: [220, 30, 30], left: 0, top: 0, width: side, height: side)
                .drawingRectangle(color: [30, 30, 220], left: width - side, top: 0, width: side, height: side)
            return try upright.rotated(.d270).setting("orientation", to: 6).jpegData(quality: 90, strip: false)
        } catch {
            throw RenditionError(.internal, "Could not generate the sample image.", cause: error)
        }
    }
}
