internal import CVips
internal import Synchronization

/// An input's bytes, held once by libvips and shared by every image decoded from them.
///
/// libvips reads the array's own storage, without a copy (an original is often 5–15 MB, and eight
/// renders at once held each twice): the array is kept alive by ``BorrowedBytes`` until the libvips blob
/// over it is freed, when the last image reading from it is gone, so an image can outlive this value.
public final class VipsInput {
    let blob: UnsafeMutablePointer<VipsBlob>
    /// The format the bytes were sniffed as.
    public let format: InputFormat
    /// The size of the input in bytes.
    public let count: Int

    /// Wraps `bytes` already sniffed as `format`. PNG text chunks are dropped here, before any decoder
    /// runs (see ``PNGChunks``); `count` stays the size of the original bytes.
    public init(bytes: [UInt8], format: InputFormat) {
        self.format = format
        self.count = bytes.count
        let input = format == .png ? PNGChunks.removingText(from: bytes) : bytes
        self.blob = BorrowedBytes.blob(over: input)
    }

    deinit { rv_blob_unref(blob) }
}

/// Arrays whose storage libvips blobs read in place, kept alive (counted, by storage address: the same
/// array may back several inputs at once) until libvips releases each blob. A native array's storage
/// does not move while a reference to it is held and nothing writes to it; writers get their own copy.
package enum BorrowedBytes {
    private static let owners = Mutex<[UInt: (bytes: [UInt8], blobs: Int)]>([:])

    static func blob(over bytes: [UInt8]) -> UnsafeMutablePointer<VipsBlob> {
        guard let base = bytes.withUnsafeBytes({ $0.baseAddress }), !bytes.isEmpty else {
            return rv_blob_new_copy(nil, 0)
        }
        owners.withLock { owners in
            owners[UInt(bitPattern: base), default: (bytes, 0)].blobs += 1
        }
        return rv_blob_new_borrowed(release, base, bytes.count)
    }

    /// Whether libvips still reads `bytes` in place (for tests).
    package static func holds(_ bytes: [UInt8]) -> Bool {
        guard let base = bytes.withUnsafeBytes({ $0.baseAddress }) else { return false }
        return owners.withLock { $0[UInt(bitPattern: base)] != nil }
    }

    private static let release: VipsCallbackFn = { data, _ in
        guard let data else { return 0 }
        owners.withLock { owners in
            let key = UInt(bitPattern: data)
            guard let entry = owners[key] else { return }
            if entry.blobs > 1 { owners[key]?.blobs -= 1 } else { owners[key] = nil }
        }
        return 0
    }
}

/// When a decoder should give up on damaged input (libvips' `fail_on`).
public enum FailOn: String, Sendable, CaseIterable, Codable {
    /// Decode whatever can be decoded (best effort: truncated images come out partly grey).
    case none
    /// Fail on truncated input only.
    case truncated
    /// Fail on truncation and on decoder errors.
    case error
    /// Fail on anything, warnings included: libjpeg reports corrupt entropy data only as a warning.
    /// Rendition's default, as in sharp.
    case warning

    var cValue: Int32 {
        switch self {
        case .none: Int32(VIPS_FAIL_ON_NONE.rawValue)
        case .truncated: Int32(VIPS_FAIL_ON_TRUNCATED.rawValue)
        case .error: Int32(VIPS_FAIL_ON_ERROR.rawValue)
        case .warning: Int32(VIPS_FAIL_ON_WARNING.rawValue)
        }
    }
}

/// How pixels will be read: top to bottom once, or in any order.
public enum Access: Sendable, Hashable {
    /// Top to bottom, once: the decoder streams and memory stays small.
    case sequential
    /// Any order (rotation, smart crop): the decoded image is kept whole.
    case random
}

/// Resampling kernels for ``VipsImage/resized(horizontalScale:verticalScale:kernel:)``.
/// Raw values are libvips' `VipsKernel` nicks.
public enum Kernel: String, Sendable, CaseIterable {
    case nearest, linear, cubic, mitchell, lanczos2, lanczos3
}

/// Where libvips' smart crop looks for the interesting part. Raw values are `VipsInteresting` nicks.
public enum Interesting: String, Sendable, CaseIterable {
    case centre, entropy, attention
}

/// A quarter-turn count, clockwise.
public enum Rotation: Int, Sendable { case d90 = 90, d180 = 180, d270 = 270 }

/// A mirror axis: `.horizontal` swaps left and right, `.vertical` swaps top and bottom.
public enum FlipDirection: Sendable { case horizontal, vertical }

/// How the pixel values of an image are to be understood (a subset of libvips' interpretations). Raw
/// values are `VipsInterpretation` nicks.
public enum Interpretation: String, Sendable {
    case bw = "b-w", srgb, rgb16, grey16, cmyk, lab, scrgb, xyz, multiband, other

    init(_ value: VipsInterpretation) {
        switch value {
        case VIPS_INTERPRETATION_B_W: self = .bw
        case VIPS_INTERPRETATION_sRGB: self = .srgb
        case VIPS_INTERPRETATION_RGB16: self = .rgb16
        case VIPS_INTERPRETATION_GREY16: self = .grey16
        case VIPS_INTERPRETATION_CMYK: self = .cmyk
        case VIPS_INTERPRETATION_LAB: self = .lab
        case VIPS_INTERPRETATION_scRGB: self = .scrgb
        case VIPS_INTERPRETATION_XYZ: self = .xyz
        case VIPS_INTERPRETATION_MULTIBAND: self = .multiband
        default: self = .other
        }
    }

    /// The nick passed to libvips (`other` has none of its own and means sRGB there).
    var nick: String { self == .other ? Interpretation.srgb.rawValue : rawValue }
}

/// Chroma subsampling for JPEG and AVIF output. Raw values are `VipsForeignSubsample` nicks.
public enum Subsampling: String, Sendable, CaseIterable {
    /// 4:2:0 below quality 90, 4:4:4 from 90 up (libvips' rule).
    case auto
    /// Always 4:2:0.
    case on
    /// Never (4:4:4).
    case off
}

/// One libvips image. Owns exactly one reference, released when this value goes away.
///
/// Images are lazy: operations build a pipeline and pixels are computed when the image is saved (or a
/// pixel is read). An image is not `Sendable`: a render builds and evaluates it on one pooled thread.
public final class VipsImage {
    let pointer: UnsafeMutablePointer<CVips.VipsImage>

    /// Takes over the reference an operation returned in `pointer`.
    init(owning pointer: UnsafeMutablePointer<CVips.VipsImage>) {
        self.pointer = pointer
    }

    deinit { g_object_unref(UnsafeMutableRawPointer(pointer)) }

    /// This image as the `in` argument of the libvips operation `operation`, with `arguments` besides,
    /// and the image it returns as `out` (see ``VipsOperation/call(_:_:)``). For the few operations whose
    /// image is named otherwise (`extract_area` and `smartcrop` take `input`), call the operation itself.
    public func applying(_ operation: String, _ arguments: [String: VipsValue] = [:]) throws(VipsError)
        -> VipsImage
    {
        var arguments = arguments
        arguments["in"] = .image(self)
        return try VipsOperation.call(operation, arguments).image()
    }

    /// Runs one libvips call that writes an output image, and wraps the output.
    static func make(
        _ operation: String,
        _ body: (UnsafeMutablePointer<UnsafeMutablePointer<CVips.VipsImage>?>) -> Int32
    ) throws(VipsError) -> VipsImage {
        var out: UnsafeMutablePointer<CVips.VipsImage>?
        let result = body(&out)
        guard result == 0, let out else {
            if let out { g_object_unref(UnsafeMutableRawPointer(out)) }
            throw lastError(operation)
        }
        return VipsImage(owning: out)
    }

    // MARK: Loading

    /// Opens `input` with its own loader. Only the header is read now; pixels are decoded on demand.
    ///
    /// - Parameters:
    ///   - shrink: a shrink-on-load factor (1, 2, 4 or 8) that JPEG and WebP apply while decoding.
    ///   - failOn: when decoding gives up on damaged data.
    ///   - access: the order pixels will be read in.
    public static func load(
        _ input: VipsInput,
        shrink: Int = 1,
        failOn: FailOn = .warning,
        access: Access = .sequential
    ) throws(VipsError) -> VipsImage {
        let format: RVFormat =
            switch input.format {
            case .jpeg: RV_FORMAT_JPEG
            case .png: RV_FORMAT_PNG
            case .webp: RV_FORMAT_WEBP
            case .gif: RV_FORMAT_GIF
            case .heif: RV_FORMAT_HEIF
            case .tiff: RV_FORMAT_TIFF
            }
        try VipsRuntime.start()
        return try make("\(input.format.rawValue)load") { out in
            rv_load(input.blob, format, Int32(shrink), failOn.cValue, access == .sequential ? 1 : 0, out)
        }
    }

    // MARK: Header

    /// Width in pixels.
    public var width: Int { Int(vips_image_get_width(pointer)) }
    /// Height in pixels (of one page, for the multi-page formats Rendition loads).
    public var height: Int { Int(vips_image_get_height(pointer)) }
    /// Number of bands (channels).
    public var bands: Int { Int(vips_image_get_bands(pointer)) }
    /// How the bands are to be understood.
    public var interpretation: Interpretation { Interpretation(vips_image_get_interpretation(pointer)) }
    /// Whether the last band is alpha.
    public var hasAlpha: Bool { vips_image_hasalpha(pointer) != 0 }
    /// Whether the band format is unsigned 8-bit.
    public var isEightBit: Bool { vips_image_get_format(pointer) == VIPS_FORMAT_UCHAR }
    /// The EXIF orientation, 1…8 (1 when absent or out of range).
    public var orientation: Int {
        let value = Int(vips_image_get_orientation(pointer))
        return (1...8).contains(value) ? value : 1
    }
    /// The number of pages (frames) the file holds, 1 for single images.
    public var pageCount: Int { max(1, Int(vips_image_get_n_pages(pointer))) }

    /// Whether metadata `field` is set (such as `exif-data`, `icc-profile-data`, `orientation`).
    public func hasField(_ field: String) -> Bool {
        vips_image_get_typeof(pointer, field) != 0
    }

    /// All metadata field names.
    public var fieldNames: [String] {
        guard let names = vips_image_get_fields(pointer) else { return [] }
        defer { g_strfreev(names) }
        var result: [String] = []
        var index = 0
        while let name = names[index] {
            result.append(String(cString: name))
            index += 1
        }
        return result
    }

    /// The string value of `field` (for string and EXIF fields), or `nil`.
    public func string(_ field: String) -> String? {
        guard hasField(field) else { return nil }
        var value: UnsafeMutablePointer<CChar>?
        guard vips_image_get_as_string(pointer, field, &value) == 0, let value else {
            vips_error_clear()
            return nil
        }
        defer { g_free(value) }
        return String(cString: value)
    }

    /// The bytes of blob field `field` (such as `icc-profile-data`), or `nil` when it is not set.
    public func blob(_ field: String) -> [UInt8]? {
        var data: UnsafeRawPointer?
        var length = 0
        guard hasField(field), vips_image_get_blob(pointer, field, &data, &length) == 0, let data else {
            vips_error_clear()
            return nil
        }
        return Array(UnsafeRawBufferPointer(start: data, count: length))
    }

    /// A copy whose metadata has integer `field` set to `value` (pixels are shared, not copied).
    public func setting(_ field: String, to value: Int) throws(VipsError) -> VipsImage {
        let copy = try applying("copy")
        vips_image_set_int(copy.pointer, field, Int32(value))
        return copy
    }

    /// A copy whose metadata has string `field` set to `value`.
    public func setting(_ field: String, to value: String) throws(VipsError) -> VipsImage {
        let copy = try applying("copy")
        vips_image_set_string(copy.pointer, field, value)
        return copy
    }

    /// A copy without the metadata fields for which `shouldRemove` answers `true`.
    public func removingFields(where shouldRemove: (String) -> Bool) throws(VipsError) -> VipsImage {
        let copy = try applying("copy")
        for field in fieldNames where shouldRemove(field) {
            _ = vips_image_remove(copy.pointer, field)
        }
        return copy
    }

    // MARK: Geometry

    /// Applies the EXIF orientation and removes the tag (libvips `autorot`).
    public func autorotated() throws(VipsError) -> VipsImage {
        try applying("autorot")
    }

    /// Rotated clockwise by a multiple of 90°.
    public func rotated(_ rotation: Rotation) throws(VipsError) -> VipsImage {
        try applying("rot", ["angle": .enumNick("d\(rotation.rawValue)")])
    }

    /// Mirrored along `direction`.
    public func flipped(_ direction: FlipDirection) throws(VipsError) -> VipsImage {
        try applying("flip", ["direction": .enumNick(direction == .horizontal ? "horizontal" : "vertical")])
    }

    /// The rectangle at (`left`, `top`) of `width`×`height`; it must lie inside the image.
    public func extracting(left: Int, top: Int, width: Int, height: Int) throws(VipsError) -> VipsImage {
        try VipsOperation.call(
            "extract_area",
            ["input": .image(self), "left": .int(left), "top": .int(top), "width": .int(width), "height": .int(height)]
        ).image()
    }

    /// A `width`×`height` crop placed where libvips finds the image most interesting.
    public func smartCropped(width: Int, height: Int, interesting: Interesting) throws(VipsError) -> VipsImage {
        try VipsOperation.call(
            "smartcrop",
            [
                "input": .image(self), "width": .int(width), "height": .int(height),
                "interesting": .enumNick(interesting.rawValue),
            ]
        ).image()
    }

    /// Resampled by the given factors with `kernel`.
    public func resized(horizontalScale: Double, verticalScale: Double, kernel: Kernel) throws(VipsError)
        -> VipsImage
    {
        try applying(
            "resize",
            ["scale": .double(horizontalScale), "vscale": .double(verticalScale), "kernel": .enumNick(kernel.rawValue)])
    }

    /// Placed at (`x`, `y`) on a `width`×`height` canvas filled with `background` (one value per band).
    public func embedded(x: Int, y: Int, width: Int, height: Int, background: [Double]) throws(VipsError)
        -> VipsImage
    {
        try applying(
            "embed",
            [
                "x": .int(x), "y": .int(y), "width": .int(width), "height": .int(height),
                "extend": .enumNick("background"), "background": .doubles(background),
            ])
    }

    /// `sub` drawn over this image with its top-left corner at (`x`, `y`).
    public func inserting(_ sub: VipsImage, x: Int, y: Int) throws(VipsError) -> VipsImage {
        try VipsOperation.call("insert", ["main": .image(self), "sub": .image(sub), "x": .int(x), "y": .int(y)])
            .image()
    }

    // MARK: Colour

    /// Alpha composited over `background` (one value per colour band); the alpha band is removed.
    public func flattened(background: [Double]) throws(VipsError) -> VipsImage {
        try applying("flatten", ["background": .doubles(background)])
    }

    /// This image if it is not CMYK; otherwise transformed to sRGB, through its embedded profile or, without
    /// one, libvips' built-in CMYK profile standing in for the press. Stages that draw RGB colours (padding,
    /// corners, a watermark) call this first.
    public func convertingCMYKToSRGB() throws(VipsError) -> VipsImage {
        interpretation == .cmyk ? try iccTransformed(to: "srgb", inputProfile: "cmyk") : self
    }

    /// Transformed to the ICC profile `outputProfile` (a path, or one of libvips' built-ins `srgb`,
    /// `cmyk`, `p3`). `inputProfile` is assumed when the image has none; with `useEmbedded: false` it
    /// replaces the embedded one.
    public func iccTransformed(to outputProfile: String, inputProfile: String? = nil, useEmbedded: Bool = true)
        throws(VipsError) -> VipsImage
    {
        var arguments: [String: VipsValue] = [
            "output_profile": .string(outputProfile), "embedded": .bool(useEmbedded), "intent": .enumNick("perceptual"),
        ]
        if let inputProfile { arguments["input_profile"] = .string(inputProfile) }
        return try applying("icc_transform", arguments)
    }

    /// Converted to 8-bit sRGB (or 8-bit B-W for single-band images) by libvips' colourspace rules.
    public func colourspace(_ space: Interpretation) throws(VipsError) -> VipsImage {
        try applying("colourspace", ["space": .enumNick(space.nick)])
    }

    /// The same pixels declared as `space` (no conversion), for images assembled band by band.
    public func declaring(_ space: Interpretation) throws(VipsError) -> VipsImage {
        try applying("copy", ["interpretation": .enumNick(space.nick)])
    }

    /// Cast to unsigned 8-bit, clipping.
    public func castToEightBit() throws(VipsError) -> VipsImage {
        try applying("cast", ["format": .enumNick("uchar")])
    }

    /// With a constant band `value` appended (for example an opaque alpha band).
    public func appendingBand(_ value: Double) throws(VipsError) -> VipsImage {
        try applying("bandjoin_const", ["c": .doubles([value])])
    }

    /// With `other`'s bands appended.
    public func appendingBands(of other: VipsImage) throws(VipsError) -> VipsImage {
        try VipsOperation.call("bandjoin", ["in": .images([self, other])]).image()
    }

    /// Bands `band..<band + count`.
    public func extractingBands(_ band: Int, count: Int = 1) throws(VipsError) -> VipsImage {
        try applying("extract_band", ["band": .int(band), "n": .int(count)])
    }

    // MARK: Evaluation

    /// Kills any computation of this image (and of images made from it) once `microseconds` have passed.
    /// A killed computation fails with a ``VipsError`` of kind ``VipsError/Kind/killed``.
    public func setDeadline(microseconds: Int64) {
        rv_set_deadline(pointer, gint64(max(0, microseconds)))
    }

    /// The pixel at (`x`, `y`), one value per band. Computes what is needed to get it.
    public func pixel(x: Int, y: Int) throws(VipsError) -> [Double] {
        try VipsOperation.call("getpoint", ["in": .image(self), "x": .int(x), "y": .int(y)]).doubles("out_array")
    }

    /// The mean of every band of every pixel.
    public func average() throws(VipsError) -> Double {
        try VipsOperation.call("avg", ["in": .image(self)]).double()
    }

    /// Every pixel, band-interleaved, after casting to 8-bit.
    public func pixelBytes() throws(VipsError) -> [UInt8] {
        let eight = isEightBit ? self : try castToEightBit()
        var length = 0
        guard let memory = vips_image_write_to_memory(eight.pointer, &length) else {
            throw lastError("write_to_memory")
        }
        defer { g_free(memory) }
        return Array(UnsafeRawBufferPointer(start: memory, count: length))
    }

    // MARK: Saving

    /// The bytes of the saver `operation` (a `*save_buffer`) run on this image with `arguments`.
    private func save(_ operation: String, _ arguments: [String: VipsValue] = [:]) throws(VipsError) -> [UInt8] {
        var arguments = arguments
        arguments["in"] = .image(self)
        return try VipsOperation.call(operation, arguments).blob()
    }

    /// The image computed into memory: every pixel decoded and processed now, so a failure surfaces
    /// here rather than inside a saver.
    public func copiedToMemory() throws(VipsError) -> VipsImage {
        guard let memory = vips_image_copy_memory(pointer) else { throw lastError("copy_memory") }
        return VipsImage(owning: memory)
    }

    /// Encoded as JPEG.
    public func jpegData(
        quality: Int,
        progressive: Bool = false,
        optimizeCoding: Bool = true,
        subsampling: Subsampling = .auto,
        strip: Bool = true
    ) throws(VipsError) -> [UInt8] {
        try save(
            "jpegsave_buffer",
            [
                "Q": .int(quality), "interlace": .bool(progressive), "optimize_coding": .bool(optimizeCoding),
                "subsample_mode": .enumNick(subsampling.rawValue), "strip": .bool(strip),
            ])
    }

    /// Encoded as WebP. With `strip`, the file carries no EXIF, XMP or ICC chunk.
    public func webpData(
        quality: Int,
        lossless: Bool = false,
        effort: Int = 4,
        smartSubsample: Bool = false,
        strip: Bool = true
    ) throws(VipsError) -> [UInt8] {
        let bytes = try save(
            "webpsave_buffer",
            [
                "Q": .int(quality), "lossless": .bool(lossless), "effort": .int(effort),
                "smart_subsample": .bool(smartSubsample), "strip": .bool(strip),
            ])
        return strip ? WebPChunks.removing([WebPChunks.exif, WebPChunks.xmp, WebPChunks.icc], from: bytes) : bytes
    }

    /// Encoded as PNG; `interlace` writes Adam7, `bitDepth` 0 keeps the image's own depth (8 or 16),
    /// `compression` is zlib's level and `palette` quantises to 8-bit colour-mapped (libimagequant).
    public func pngData(
        strip: Bool = true, interlace: Bool = false, bitDepth: Int = 0, compression: Int = 6, palette: Bool = false
    ) throws(VipsError) -> [UInt8] {
        let depth = bitDepth > 0 ? bitDepth : (isEightBit ? 8 : 16)
        return try save(
            "pngsave_buffer",
            [
                "strip": .bool(strip), "interlace": .bool(interlace), "bitdepth": .int(depth),
                "compression": .int(compression), "palette": .bool(palette),
            ])
    }

    /// Encoded as TIFF.
    public func tiffData() throws(VipsError) -> [UInt8] {
        try save("tiffsave_buffer")
    }

    /// Encoded as GIF.
    public func gifData() throws(VipsError) -> [UInt8] {
        try save("gifsave_buffer")
    }

    /// Encoded as AVIF: AV1 in HEIF, 8 bits per sample. `effort` is 0 (fastest) to 9.
    public func avifData(
        quality: Int, lossless: Bool = false, effort: Int = 4, subsampling: Subsampling = .auto, strip: Bool = true
    ) throws(VipsError) -> [UInt8] {
        try save(
            "heifsave_buffer",
            [
                "compression": .enumNick("av1"), "Q": .int(quality), "bitdepth": .int(8), "lossless": .bool(lossless),
                "effort": .int(effort), "subsample_mode": .enumNick(subsampling.rawValue), "strip": .bool(strip),
            ])
    }

    /// Encoded as HEIF (HEVC) or, with `avif`, AVIF.
    public func heifData(avif: Bool) throws(VipsError) -> [UInt8] {
        try save("heifsave_buffer", ["compression": .enumNick(avif ? "av1" : "hevc")])
    }

    // MARK: Generators

    /// A `width`×`height` image with every pixel `color` (its count is the band count), 8-bit, declared
    /// grey (1–2 bands) or sRGB (3–4 bands), the last band of 2 or 4 being alpha.
    public static func solid(width: Int, height: Int, color: [Double]) throws(VipsError) -> VipsImage {
        let black = try VipsOperation.call(
            "black", ["width": .int(width), "height": .int(height), "bands": .int(color.count)]
        ).image()
        let zeros = [Double](repeating: 0, count: color.count)
        return try black.applying("linear", ["a": .doubles(zeros), "b": .doubles(color), "uchar": .bool(true)])
            .declaring(color.count <= 2 ? .bw : .srgb)
    }

    /// 8-bit Gaussian noise, one band.
    public static func noise(width: Int, height: Int, mean: Double = 128, sigma: Double = 40) throws(VipsError)
        -> VipsImage
    {
        try VipsOperation.call(
            "gaussnoise",
            ["width": .int(width), "height": .int(height), "mean": .double(mean), "sigma": .double(sigma)]
        ).image().castToEightBit()
    }

    /// A horizontal ramp from black to white, 8-bit, one band.
    public static func ramp(width: Int, height: Int) throws(VipsError) -> VipsImage {
        try VipsOperation.call("grey", ["width": .int(width), "height": .int(height), "uchar": .bool(true)]).image()
    }

    /// A copy decoded to memory with a filled rectangle drawn on it.
    public func drawingRectangle(color: [Double], left: Int, top: Int, width: Int, height: Int) throws(VipsError)
        -> VipsImage
    {
        try VipsOperation.call(
            "draw_rect",
            [
                "image": .image(self), "ink": .doubles(color), "left": .int(left), "top": .int(top),
                "width": .int(width), "height": .int(height), "fill": .bool(true),
            ]
        ).image("image")
    }
}
