public import RenditionCore
public import Vips

/// `encode`: the last stage. Converts to 8-bit sRGB (CMYK and ICC-tagged inputs included), flattens
/// alpha onto `background` for JPEG, strips metadata unless asked to keep some, and writes JPEG or WebP.
public struct Encode: OutputStage {
    public static let name = "encode"
    public static let summary = "Writes JPEG or WebP in sRGB, stripping metadata unless asked to keep it."

    public enum Format: String, Sendable, CaseIterable {
        case jpeg, webp
    }

    static let jpegOnly = ["progressive", "subsampling", "optimizeCoding", "background"]
    static let webpOnly = ["lossless", "effort", "smartSubsample"]

    public static let options: [OptionSpec] = [
        OptionSpec("format", .choice(Format.allCases.map(\.rawValue)), required: true, help: "Output format."),
        OptionSpec("quality", .integer(min: 1, max: 100), default: 80, help: "Lossy quality, 1–100."),
        OptionSpec("progressive", .boolean, default: false, help: "JPEG: write a progressive (interlaced) file."),
        OptionSpec(
            "subsampling", .choice(Subsampling.allCases.map(\.rawValue)), default: "auto",
            help: "JPEG: chroma subsampling; auto is 4:2:0 below quality 90 and 4:4:4 above."),
        OptionSpec(
            "optimizeCoding", .boolean, default: true, help: "JPEG: compute optimal Huffman tables (smaller files)."),
        OptionSpec(
            "background", .color, default: "#ffffff", help: "JPEG: colour transparent pixels are flattened onto."),
        OptionSpec(
            "lossless", .boolean, default: false,
            help: "WebP: lossless compression (quality then sets effort/size trade-off)."),
        OptionSpec(
            "effort", .integer(min: 0, max: 6), default: 4, help: "WebP: CPU effort, 0 (fastest) to 6 (smallest)."),
        OptionSpec("smartSubsample", .boolean, default: false, help: "WebP: sharper chroma on edges, slower."),
        OptionSpec(
            "keep", .choices(["icc", "copyright"]), default: [],
            help:
                "Metadata to keep: icc (embed the sRGB profile), copyright (the EXIF copyright notice). All else is stripped."
        ),
    ]

    public let format: Format
    let quality: Int
    let progressive: Bool
    let subsampling: Subsampling
    let optimizeCoding: Bool
    let background: Color
    let lossless: Bool
    let effort: Int
    let smartSubsample: Bool
    let keep: Set<String>

    public init(options: StageOptions) throws {
        guard let name = options.string("format"), let format = Format(rawValue: name) else {
            throw options.problem("format", "missing; set format: jpeg or format: webp")
        }
        self.format = format
        let foreign = format == .jpeg ? Self.webpOnly : Self.jpegOnly
        let problems = foreign.filter(options.isSet).map {
            options.problem($0, "applies to \(format == .jpeg ? "webp" : "jpeg") only; remove it or change the format")
        }
        if !problems.isEmpty { throw PipelineProblems(problems) }
        quality = options.integer("quality") ?? 80
        progressive = options.boolean("progressive") ?? false
        subsampling = Subsampling(rawValue: options.string("subsampling") ?? "auto") ?? .auto
        optimizeCoding = options.boolean("optimizeCoding") ?? true
        background = Color(parsing: options.string("background") ?? "#ffffff") ?? Color(red: 255, green: 255, blue: 255)
        lossless = options.boolean("lossless") ?? false
        effort = options.integer("effort") ?? 4
        smartSubsample = options.boolean("smartSubsample") ?? false
        keep = Set(options.list("keep") ?? [])
    }

    public func applies(_ option: String) -> Bool {
        !(format == .jpeg ? Self.webpOnly : Self.jpegOnly).contains(option)
    }

    public var mediaType: String { format == .jpeg ? "image/jpeg" : "image/webp" }
    public var fileExtension: String { format == .jpeg ? "jpg" : "webp" }

    public func encode(_ image: VipsImage, context: StageContext) throws -> [UInt8] {
        var output = try Self.toSRGB(image)
        if format == .jpeg, output.hasAlpha {
            output = try output.flattened(background: background.bands(output.bands - 1))
        }
        output = try keepOnly(output)
        if let microseconds = context.deadline.remainingMicroseconds {
            output.setDeadline(microseconds: microseconds)
        }
        let strip = keep.isEmpty
        switch format {
        case .jpeg:
            return try output.jpegData(
                quality: quality, progressive: progressive, optimizeCoding: optimizeCoding, subsampling: subsampling,
                strip: strip)
        case .webp:
            // libvips 8.14's WebP saver leaks its encoder state and the whole input pipeline when the
            // input fails mid-encode (about 2 MB per truncated JPEG thumbnail, found by `make soak`), so
            // the pixels are computed first: a corrupt original fails in the copy, which frees everything.
            // libwebp holds the whole picture anyway, so the copy costs little extra memory.
            let bytes = try output.copiedToMemory().webpData(
                quality: quality, lossless: lossless, effort: effort, smartSubsample: smartSubsample, strip: strip)
            if strip { return bytes }
            var unwanted: Set<String> = [WebPChunks.xmp]
            if !keep.contains("copyright") { unwanted.insert(WebPChunks.exif) }
            if !keep.contains("icc") { unwanted.insert(WebPChunks.icc) }
            return WebPChunks.removing(unwanted, from: bytes)
        }
    }

    /// 8-bit sRGB (or 8-bit grey, which every viewer reads as sRGB), with any alpha kept.
    static func toSRGB(_ image: VipsImage) throws -> VipsImage {
        var result = image
        if image.interpretation == .cmyk {
            // Without an embedded profile, libvips' built-in CMYK profile stands in for the press.
            result = try image.iccTransformed(to: "srgb", inputProfile: "cmyk")
        } else if image.hasField("icc-profile-data") {
            result = try image.iccTransformed(to: "srgb", inputProfile: "srgb")
        } else if image.interpretation != .srgb && image.interpretation != .bw {
            result = try image.colourspace(.srgb)
        }
        return result.isEightBit ? result : try result.castToEightBit()
    }

    /// The image with only the metadata `keep` names. The savers' own `strip` is not enough on its own:
    /// libvips 8.14's WebP saver still writes the EXIF block it finds, orientation tag included.
    func keepOnly(_ image: VipsImage) throws -> VipsImage {
        let metadata = ["exif-data", "xmp-data", "iptc-data", "icc-profile-data", "orientation", "jpeg-thumbnail-data"]
        return try image.removingFields { field in
            if field == "icc-profile-data" { return !keep.contains("icc") }
            if field == "exif-ifd0-Copyright" { return !keep.contains("copyright") }
            return metadata.contains(field) || field.hasPrefix("exif-")
        }
    }
}
