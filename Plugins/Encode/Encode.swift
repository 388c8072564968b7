public import RenditionCore
public import Vips

/// `encode`: the last stage. Converts to 8-bit sRGB (CMYK and ICC-tagged inputs included), flattens
/// alpha onto `background` for JPEG, strips metadata unless asked to keep some, and writes JPEG or WebP.
public struct Encode: OutputStage {
    public static let name = "encode"
    public static let summary = "Writes JPEG or WebP in sRGB, stripping metadata unless asked to keep it."

    /// An output format. A new format is a case here, its answers below, and its save call in ``encode(_:context:)``.
    public enum Format: String, Sendable, CaseIterable {
        case jpeg, webp

        public var mediaType: String {
            switch self {
            case .jpeg: "image/jpeg"
            case .webp: "image/webp"
            }
        }

        public var fileExtension: String {
            switch self {
            case .jpeg: "jpg"
            case .webp: "webp"
            }
        }

        /// Whether the format stores transparency (otherwise alpha is flattened onto `background`).
        var keepsAlpha: Bool { self != .jpeg }

        /// The options only this format reads; the others (quality, keep) apply to every format.
        var ownOptions: [any DeclaredOption] {
            switch self {
            case .jpeg: [Encode.progressive, Encode.subsampling, Encode.optimizeCoding, Encode.background]
            case .webp: [Encode.lossless, Encode.effort, Encode.smartSubsample]
            }
        }
    }

    /// Metadata a file may ask to keep.
    enum Keep: String, Sendable, CaseIterable {
        /// The sRGB profile, embedded.
        case icc
        /// The EXIF copyright notice.
        case copyright
    }

    static let format = StageOption<Format>.required("format", help: "Output format.")
    static let quality = StageOption.integer("quality", min: 1, max: 100, default: 80, help: "Lossy quality, 1–100.")
    static let progressive = StageOption.boolean(
        "progressive", default: false, help: "JPEG: write a progressive (interlaced) file.")
    static let subsampling = StageOption<Subsampling>.choice(
        "subsampling", default: .auto, help: "JPEG: chroma subsampling; auto is 4:2:0 below quality 90 and 4:4:4 above."
    )
    static let optimizeCoding = StageOption.boolean(
        "optimizeCoding", default: true, help: "JPEG: compute optimal Huffman tables (smaller files).")
    static let background = StageOption.color(
        "background", default: "#ffffff", help: "JPEG: colour transparent pixels are flattened onto.")
    static let lossless = StageOption.boolean(
        "lossless", default: false, help: "WebP: lossless compression (quality then sets effort/size trade-off).")
    static let effort = StageOption.integer(
        "effort", min: 0, max: 6, default: 4, help: "WebP: CPU effort, 0 (fastest) to 6 (smallest).")
    static let smartSubsample = StageOption.boolean(
        "smartSubsample", default: false, help: "WebP: sharper chroma on edges, slower.")
    static let keep = StageOption<Set<Keep>>.choices(
        "keep", default: [],
        help:
            "Metadata to keep: icc (embed the sRGB profile), copyright (the EXIF copyright notice). All else is stripped."
    )

    public static let options = OptionSpec.list(
        format, quality, progressive, subsampling, optimizeCoding, background, lossless, effort, smartSubsample, keep)

    public let format: Format
    let quality: Int
    let progressive: Bool
    let subsampling: Subsampling
    let optimizeCoding: Bool
    let background: Color
    let lossless: Bool
    let effort: Int
    let smartSubsample: Bool
    let keep: Set<Keep>

    public init(options: StageOptions) throws {
        let format = options[Self.format]
        self.format = format
        let foreign = Format.allCases.filter { $0 != format }.flatMap(\.ownOptions).filter {
            !Self.applies($0.spec.name, to: format)
        }
        let problems = foreign.filter { options.isSet($0) }.map { option in
            let owners = Format.allCases.filter { $0.ownOptions.contains { $0.spec.name == option.spec.name } }
            return options.problem(
                option,
                "applies to \(owners.map(\.rawValue).joined(separator: " and ")) only; remove it or change the format")
        }
        if !problems.isEmpty { throw PipelineProblems(problems) }
        quality = options[Self.quality]
        progressive = options[Self.progressive]
        subsampling = options[Self.subsampling]
        optimizeCoding = options[Self.optimizeCoding]
        background = options[Self.background]
        lossless = options[Self.lossless]
        effort = options[Self.effort]
        smartSubsample = options[Self.smartSubsample]
        keep = options[Self.keep]
    }

    /// Whether `option` means anything for `format`: it is either every format's or this one's own.
    static func applies(_ option: String, to format: Format) -> Bool {
        let own = { (format: Format) in format.ownOptions.contains { $0.spec.name == option } }
        return own(format) || !Format.allCases.contains(where: own)
    }

    public func applies(_ option: String) -> Bool { Self.applies(option, to: format) }

    public var mediaType: String { format.mediaType }
    public var fileExtension: String { format.fileExtension }

    public func encode(_ image: VipsImage, context: StageContext) throws -> [UInt8] {
        var output = try Self.toSRGB(image)
        if !format.keepsAlpha, output.hasAlpha {
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
            if !keep.contains(.copyright) { unwanted.insert(WebPChunks.exif) }
            if !keep.contains(.icc) { unwanted.insert(WebPChunks.icc) }
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
            if field == "icc-profile-data" { return !keep.contains(.icc) }
            if field == "exif-ifd0-Copyright" { return !keep.contains(.copyright) }
            return metadata.contains(field) || field.hasPrefix("exif-")
        }
    }
}
