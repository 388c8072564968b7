public import RenditionCore
public import Vips

/// `encode`: the last stage. Converts to 8-bit sRGB (CMYK and ICC-tagged inputs included), flattens
/// alpha onto `background` for JPEG, strips metadata unless asked to keep some, and writes JPEG, WebP, AVIF
/// or PNG — or, with `format: auto`, the first of its `candidates` each client accepts.
public struct Encode: OutputStage {
    public static let name = "encode"
    public static let summary =
        "Writes JPEG, WebP, AVIF or PNG in sRGB (or the best format each client accepts), stripping metadata."

    /// An output format. A new format is a case here, its answers below, its settings in ``Settings`` and
    /// its save call in ``encode(_:context:)``.
    public enum Format: String, Sendable, CaseIterable {
        case jpeg, webp, avif, png

        public var mediaType: String {
            switch self {
            case .jpeg: "image/jpeg"
            case .webp: "image/webp"
            case .avif: "image/avif"
            case .png: "image/png"
            }
        }

        public var fileExtension: String {
            switch self {
            case .jpeg: "jpg"
            case .webp: "webp"
            case .avif: "avif"
            case .png: "png"
            }
        }

        /// Whether the format stores transparency (otherwise alpha is flattened onto `background`).
        var keepsAlpha: Bool { self != .jpeg }

        /// Whether every client decodes it, so it can be what `format: auto` falls back to.
        var isUniversal: Bool { self == .jpeg || self == .png }

        /// The quality used when a file gives none. AVIF's scale is not JPEG's: at its default effort, 62 is
        /// the lowest that reaches WebP q80's SSIM on the benchmark photos (`make bench`, row 8).
        var defaultQuality: Int { self == .avif ? 62 : 80 }

        /// The effort used when a file gives none. For a 400 px rendition AVIF's 4 (libvips' default) costs
        /// ~30× WebP's encode time, 2 about 4× for ~13% more bytes at the same SSIM (`make bench`).
        var defaultEffort: Int { self == .avif ? 2 : 4 }

        /// The options only this format reads; `keep` applies to every format.
        var ownOptions: [any DeclaredOption] {
            switch self {
            case .jpeg:
                [Encode.quality, Encode.progressive, Encode.subsampling, Encode.optimizeCoding, Encode.background]
            case .webp: [Encode.quality, Encode.lossless, Encode.effort, Encode.smartSubsample]
            case .avif: [Encode.quality, Encode.lossless, Encode.effort, Encode.subsampling]
            case .png: [Encode.compression, Encode.palette]
            }
        }

        /// This format's block under `format: auto`, such as `avif: {quality: 55}`.
        var section: StageSection {
            switch self {
            case .jpeg: Encode.jpegSection
            case .webp: Encode.webpSection
            case .avif: Encode.avifSection
            case .png: Encode.pngSection
            }
        }

        static func section(_ format: Format) -> StageSection {
            StageSection(
                format.rawValue, options: format.ownOptions.map(\.spec),
                help: "With format: auto, this format's own options, such as quality.")
        }
    }

    /// What `format:` may say: one format, or `auto`.
    enum Choice: String, Sendable, CaseIterable {
        case jpeg, webp, avif, png, auto
    }

    /// Metadata a file may ask to keep.
    enum Keep: String, Sendable, CaseIterable {
        /// The sRGB profile, embedded.
        case icc
        /// The EXIF copyright notice.
        case copyright
    }

    static let format = StageOption<Choice>.required(
        "format", help: "Output format, or auto: the first of candidates that each client's Accept names.")
    static let quality = StageOption<Int?>.integer(
        "quality", min: 1, max: 100, help: "Lossy quality, 1–100 (default 80; AVIF 62, the same SSIM).")
    static let progressive = StageOption.boolean(
        "progressive", default: false, help: "JPEG: write a progressive (interlaced) file.")
    static let subsampling = StageOption<Subsampling>.choice(
        "subsampling", default: .auto,
        help: "JPEG and AVIF: chroma subsampling; auto is 4:2:0 below quality 90 and 4:4:4 above.")
    static let optimizeCoding = StageOption.boolean(
        "optimizeCoding", default: true, help: "JPEG: compute optimal Huffman tables (smaller files).")
    static let background = StageOption.color(
        "background", default: "#ffffff", help: "JPEG: colour transparent pixels are flattened onto.")
    static let lossless = StageOption.boolean(
        "lossless", default: false, help: "WebP and AVIF: lossless compression.")
    static let effort = StageOption<Int?>.integer(
        "effort", min: 0, max: 9,
        help: "WebP (0–6, default 4) and AVIF (0–9, default 2): CPU effort, from fastest to smallest.")
    static let smartSubsample = StageOption.boolean(
        "smartSubsample", default: false, help: "WebP: sharper chroma on edges, slower.")
    static let keep = StageOption<Set<Keep>>.choices(
        "keep", default: [],
        help:
            "Metadata to keep: icc (embed the sRGB profile), copyright (the EXIF copyright notice). All else is stripped."
    )
    static let compression = StageOption.integer(
        "compression", min: 0, max: 9, default: 6, help: "PNG: zlib level, 0 (fastest) to 9 (smallest).")
    static let palette = StageOption.boolean(
        "palette", default: false, help: "PNG: quantise to an 8-bit palette (libimagequant), much smaller files.")
    static let candidates = StageOption<[Format]>.list(
        "candidates", default: [.avif, .webp, .jpeg],
        help: "With format: auto, the formats to offer, best first; the last (jpeg or png) is for every other client.")
    static let jpegSection = Format.section(.jpeg)
    static let webpSection = Format.section(.webp)
    static let avifSection = Format.section(.avif)
    static let pngSection = Format.section(.png)

    public static let options = OptionSpec.list(
        format, quality, progressive, subsampling, optimizeCoding, background, lossless, effort, smartSubsample, keep,
        compression, palette, candidates, jpegSection, webpSection, avifSection, pngSection)

    /// Each format's settings, read from the options that format owns.
    enum Settings: Sendable {
        case jpeg(quality: Int, progressive: Bool, subsampling: Subsampling, optimizeCoding: Bool, background: Color)
        case webp(quality: Int, lossless: Bool, effort: Int, smartSubsample: Bool)
        case avif(quality: Int, lossless: Bool, effort: Int, subsampling: Subsampling)
        case png(compression: Int, palette: Bool)
    }

    public let format: Format
    let settings: Settings
    let keep: Set<Keep>
    /// For `format: auto`, each candidate's stage and resolved options, best first (this stage is the first).
    let offered: [OutputCandidate]

    public init(options: StageOptions) throws {
        let choice = options[Self.format]
        let keep = options[Self.keep]
        guard let format = Format(rawValue: choice.rawValue) else {
            let offered = try Self.candidates(options, keep: keep)
            let first = offered[0].stage as! Encode
            self.init(format: first.format, settings: first.settings, keep: keep, offered: offered)
            return
        }
        let foreign = Self.options.filter { options.isSet($0) && !Self.applies($0.name, to: format) }
        let problems = foreign.map { option in
            options.problem(option, "\(Self.owners(of: option.name)); remove it or change the format")
        }
        if !problems.isEmpty { throw PipelineProblems(problems) }
        try self.init(format: format, options: options, keep: keep)
    }

    private init(format: Format, settings: Settings, keep: Set<Keep>, offered: [OutputCandidate]) {
        self.format = format
        self.settings = settings
        self.keep = keep
        self.offered = offered
    }

    /// One format's stage, read from `options` (the stage's own, or a format's block under `auto`).
    init(format: Format, options: StageOptions, keep: Set<Keep>) throws {
        self.init(format: format, settings: try Self.settings(format, options), keep: keep, offered: [])
    }

    /// `format`'s settings from `options`, which declare only what the format reads when they are its block.
    static func settings(_ format: Format, _ options: StageOptions) throws -> Settings {
        let quality = { options[Self.quality] ?? format.defaultQuality }
        let effort = { options[Self.effort] ?? format.defaultEffort }
        switch format {
        case .jpeg:
            return .jpeg(
                quality: quality(), progressive: options[Self.progressive], subsampling: options[Self.subsampling],
                optimizeCoding: options[Self.optimizeCoding], background: options[Self.background])
        case .webp:
            guard effort() <= 6 else {
                throw options.problem(Self.effort, "WebP's effort is 0 to 6, got \(effort())")
            }
            return .webp(
                quality: quality(), lossless: options[Self.lossless], effort: effort(),
                smartSubsample: options[Self.smartSubsample])
        case .avif:
            return .avif(
                quality: quality(), lossless: options[Self.lossless], effort: effort(),
                subsampling: options[Self.subsampling])
        case .png:
            return .png(compression: options[Self.compression], palette: options[Self.palette])
        }
    }

    /// `format: auto`'s candidates, each built from its block. Only `candidates`, `keep` and the blocks may
    /// be written beside it.
    static func candidates(_ options: StageOptions, keep: Set<Keep>) throws -> [OutputCandidate] {
        let formats = options[Self.candidates]
        var problems: [PipelineProblem] = []
        let allowed = [Self.format.name, Self.candidates.name, Self.keep.name] + Format.allCases.map(\.rawValue)
        for option in Self.options where options.isSet(option) && !allowed.contains(option.name) {
            problems.append(
                options.problem(
                    option,
                    "with format: auto, write it under each format it is for, such as avif: {\(option.name): …}"))
        }
        if let last = formats.last, !last.isUniversal {
            problems.append(
                options.problem(
                    Self.candidates,
                    "must end with jpeg or png, which every client decodes, so clients that accept none of the others still get an image; got \(last.rawValue) last"
                ))
        }
        if let early = formats.dropLast().first(where: \.isUniversal) {
            problems.append(
                options.problem(
                    Self.candidates,
                    "\(early.rawValue) is decoded by every client, so the formats after it would never be chosen; put it last"
                ))
        }
        for format in Format.allCases where options.isSet(format.section) && !formats.contains(format) {
            problems.append(
                options.problem(
                    format.section, "is not in candidates; add \(format.rawValue) to them or remove the block"))
        }
        if !problems.isEmpty { throw PipelineProblems(problems) }
        let written = options.resolved.filter { $0.name == Self.keep.name }
        return try formats.map { format in
            let block = options[format.section]
            let stage = try Encode(format: format, options: block, keep: keep)
            let resolved =
                [(name: Self.format.name, value: OptionValue.string(format.rawValue))] + written
                + block.resolved(filling: stage.defaultValue(for:))
            return OutputCandidate(stage: stage, options: resolved)
        }
    }

    /// Whether `option` means anything for `format`: it is either every format's or this one's own.
    static func applies(_ option: String, to format: Format) -> Bool {
        if option == Self.candidates.name || Format(rawValue: option) != nil { return false }
        let own = { (format: Format) in format.ownOptions.contains { $0.spec.name == option } }
        return own(format) || !Format.allCases.contains(where: own)
    }

    /// `applies to jpeg and webp only` for an option some formats own.
    static func owners(of option: String) -> String {
        if option == Self.candidates.name || Format(rawValue: option) != nil { return "applies to format: auto only" }
        let owners = Format.allCases.filter { $0.ownOptions.contains { $0.spec.name == option } }.map(\.rawValue)
        let names = owners.count > 1 ? owners.dropLast().joined(separator: ", ") + " and " + owners.last! : owners[0]
        return "applies to \(names) only"
    }

    public func applies(_ option: String) -> Bool {
        offered.isEmpty ? Self.applies(option, to: format) : option != Self.format.name
    }

    public func defaultValue(for option: String) -> OptionValue? {
        guard offered.isEmpty, Self.applies(option, to: format) else { return nil }
        switch option {
        case Self.quality.name: return .integer(format.defaultQuality)
        case Self.effort.name: return .integer(format.defaultEffort)
        default: return nil
        }
    }

    public var mediaType: String { format.mediaType }
    public var fileExtension: String { format.fileExtension }

    /// 4:2:0 for lossy WebP, and for JPEG and AVIF unless subsampling is off (or `auto` at quality 90 and
    /// up, libvips' rule).
    public var chromaResolution: Double {
        switch settings {
        case .jpeg(let quality, _, let subsampling, _, _), .avif(let quality, false, _, let subsampling):
            subsampling == .on || (subsampling == .auto && quality < 90) ? 0.5 : 1
        case .webp(_, let lossless, _, _): lossless ? 1 : 0.5
        case .avif, .png: 1
        }
    }
    public var formatToken: String { format.rawValue }

    public var candidates: [OutputCandidate] { offered }

    /// 8-bit sRGB, alpha flattened for JPEG, only the metadata `keep` names. Idempotent: `encode` runs it.
    public func prepare(_ image: VipsImage, context: StageContext) throws -> VipsImage {
        var output = try Self.toSRGB(image)
        if case .jpeg(_, _, _, _, let background) = settings, output.hasAlpha {
            output = try output.flattened(background: background.bands(output.bands - 1))
        }
        return try keepOnly(output)
    }

    public func encode(_ image: VipsImage, context: StageContext) throws -> [UInt8] {
        let output = try prepare(image, context: context)
        if let microseconds = context.deadline.remainingMicroseconds {
            output.setDeadline(microseconds: microseconds)
        }
        let strip = keep.isEmpty
        switch settings {
        case .jpeg(let quality, let progressive, let subsampling, let optimizeCoding, _):
            return try output.jpegData(
                quality: quality, progressive: progressive, optimizeCoding: optimizeCoding, subsampling: subsampling,
                strip: strip)
        case .webp(let quality, let lossless, let effort, let smartSubsample):
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
        case .avif(let quality, let lossless, let effort, let subsampling):
            guard VipsRuntime.hasOperation("heifsave_buffer") else {
                throw RenditionError(
                    .internal,
                    "This libvips cannot write AVIF: its HEIF module (vips-heif.so) did not load. Install libvips' HEIF support, or take avif out of the preset's candidates."
                )
            }
            // libheif encodes from a whole picture too; computing it first keeps a corrupt original's
            // failure in libvips' copy, before the encoder holds anything.
            return try output.copiedToMemory().avifData(
                quality: quality, lossless: lossless, effort: effort, subsampling: subsampling, strip: strip)
        case .png(let compression, let palette):
            return try output.pngData(strip: strip, bitDepth: 8, compression: compression, palette: palette)
        }
    }

    /// 8-bit sRGB (or 8-bit grey, which every viewer reads as sRGB), with any alpha kept.
    static func toSRGB(_ image: VipsImage) throws -> VipsImage {
        var result = image
        if image.interpretation == .cmyk {
            // Without an embedded profile, libvips' built-in CMYK profile stands in for the press.
            result = try image.iccTransformed(to: "srgb", inputProfile: "cmyk")
        } else if let profile = image.blob("icc-profile-data") {
            // A profile that already is sRGB (most camera and editor exports) needs no transform: lcms would
            // move no tone by half a level, and costs a pass over every pixel.
            if !(image.interpretation == .srgb && ICCProfile.isSRGB(profile)) {
                result = try image.iccTransformed(to: "srgb", inputProfile: "srgb")
            }
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
