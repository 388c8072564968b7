internal import Crypto
public import Vips

/// A stage: one named step of a pipeline file, with its options checked once when the file is planned.
///
/// Stages are values: built at plan time from ``StageOptions``, then shared by every render.
public protocol Stage: Sendable {
    /// The key in pipeline files, such as `resize`.
    static var name: String { get }
    /// One line for `rendition stages`.
    static var summary: String { get }
    /// Every option the stage accepts. Unknown options are errors.
    static var options: [OptionSpec] { get }
    /// Checks combinations of options; single values were already checked against ``options``.
    /// Throws ``PipelineProblem`` or ``PipelineProblems`` (use ``StageOptions/problem(_:_:)``).
    init(options: StageOptions) throws
    /// Adds what the stage needs from the decoder (shrink-on-load, random access) to `hints`.
    func contribute(to hints: inout LoadHints)
    /// Whether `option` has any effect with the options this stage was built with (JPEG-only options on a
    /// WebP encode do not). Plans list, and fingerprints count, only the options that apply.
    func applies(_ option: String) -> Bool
    /// A digest of what the stage reads besides its options (a watermark's file), or `nil`: part of the
    /// plan's fingerprint, so renditions made with other content count as stale.
    var contentDigest: String? { get }
    /// Whether `option` is a size in output pixels that a size variant (`@400w`, `@2x`) scales, such as
    /// resize's width. Only stages from the first one that sets the output size (``TransformStage/outputSize``)
    /// on are scaled: before it, sizes are in the original's pixels.
    func scalesWithOutput(_ option: String) -> Bool
    /// The value of an option the file left out that has no declared default because the stage derives it
    /// (AVIF's quality differs from JPEG's), so plans list it and fingerprints count it; `nil` otherwise.
    func defaultValue(for option: String) -> OptionValue?
}

extension Stage {
    public func contribute(to hints: inout LoadHints) {}
    public func applies(_ option: String) -> Bool { true }
    public var contentDigest: String? { nil }
    public func scalesWithOutput(_ option: String) -> Bool { false }
    public func defaultValue(for option: String) -> OptionValue? { nil }

    /// The SHA-256 of `bytes` in hex, for ``contentDigest``.
    public static func digest(of bytes: [UInt8]) -> String { PipelinePlan.hex(SHA256.hash(data: bytes)) }

    /// A stage built from options given in code, checked exactly like a pipeline file's.
    public static func make(_ values: [String: OptionValue] = [:]) throws -> Self {
        let options = try StageOptions.check(stage: name, specs: Self.options, values: values).get()
        return try Self(options: options)
    }
}

/// What a transform does to the image, which is all the planner's order rules look at.
public enum TransformRole: Sendable, CaseIterable {
    /// Applies the input's EXIF orientation: at most one per pipeline, before every geometry and filter stage.
    case orientation
    /// Changes the image's size or framing (crop, resize, pad, rotate).
    case geometry
    /// Changes pixels, never the size (sharpen, blur, watermark): after orientation, anywhere among geometry.
    case filter

    /// The role in order-rule messages, such as `geometry`.
    public var name: String {
        switch self {
        case .orientation: "orientation"
        case .geometry: "geometry"
        case .filter: "filter"
        }
    }
}

/// A stage that turns an image into another image.
public protocol TransformStage: Stage {
    static var role: TransformRole { get }
    /// The geometry after this stage, computed from the header alone; used to choose shrink-on-load and
    /// to explain a plan. It must agree with ``apply(to:context:)`` up to rounding.
    func predict(_ geometry: ImageGeometry) -> ImageGeometry
    /// Adds this stage's operations to `image`'s pipeline. Runs on a render thread.
    func apply(to image: VipsImage, context: StageContext) throws -> VipsImage
    /// The output size this stage sets, when it sets one (resize): size variants scale the plan from the
    /// first such stage on, and `@{W}w` replaces its width. `nil` for every other stage.
    var outputSize: (width: Int?, height: Int?)? { get }
}

extension TransformStage {
    public var outputSize: (width: Int?, height: Int?)? { nil }
}

/// A transform that changes pixels but never the image's size, so its prediction is its input.
public protocol FilterStage: TransformStage {}

extension FilterStage {
    public static var role: TransformRole { .filter }
    public func predict(_ geometry: ImageGeometry) -> ImageGeometry { geometry }
}

/// The last stage of every pipeline: turns the image into bytes.
public protocol OutputStage: Stage {
    /// The MIME type of the output, for `Content-Type`.
    var mediaType: String { get }
    /// The usual file extension, without a dot.
    var fileExtension: String { get }
    /// Encodes `image`, honouring `context`'s deadline while pixels are computed.
    func encode(_ image: VipsImage, context: StageContext) throws -> [UInt8]
    /// `image` as the encoder writes it (colour space, alpha, metadata), for profiling the encoder's own
    /// phases; `encode` of the result must write what `encode(image)` writes. Default: `image` as it is.
    func prepare(_ image: VipsImage, context: StageContext) throws -> VipsImage
    /// The format's token in the URLs of negotiating presets, such as `avif`.
    var formatToken: String { get }
    /// For a stage that lets each client's `Accept` choose (`format: auto`), the output it chooses from,
    /// best first; the last is what clients get that name none of the others. Empty for one fixed format.
    var candidates: [OutputCandidate] { get }
    /// The chroma resolution the encoded file keeps, as a fraction of its own in each axis: 1/2 for 4:2:0,
    /// 1 (the default) for formats that keep full colour. The decoder may deliver no more than that needs.
    var chromaResolution: Double { get }
}

extension OutputStage {
    public var candidates: [OutputCandidate] { [] }
    public var chromaResolution: Double { 1 }
    public func prepare(_ image: VipsImage, context: StageContext) throws -> VipsImage { image }
}

/// One format a negotiating output stage can write: the stage that writes it, and its resolved options
/// (as the plan lists them and its fingerprint counts them).
public struct OutputCandidate: Sendable {
    public let stage: any OutputStage
    public let options: [(name: String, value: OptionValue)]

    public init(stage: any OutputStage, options: [(name: String, value: OptionValue)]) {
        self.stage = stage
        self.options = options
    }
}

/// What the decoder should do for a plan, gathered from its stages before any input is seen.
public struct LoadHints: Sendable, Hashable, Codable {
    /// A stage downsizes, so the decoder may shrink while decoding (JPEG, WebP).
    public var shrinkOnLoad = false
    /// A stage reads pixels out of order (smart crop), so the decoded image is kept whole.
    public var randomAccess = false
    /// When the decoder gives up on damaged data.
    public var failOn: FailOn = .warning

    public init() {}
}

/// Size and orientation of an image as it moves through a plan, predicted from the header.
public struct ImageGeometry: Sendable, Hashable, Codable {
    public var width: Int
    public var height: Int
    /// EXIF orientation still to apply (1 once oriented).
    public var orientation: Int
    /// The product of the scale factors applied so far (1 = original resolution).
    public var scale: Double
    /// Whether the size is only the most it can be: a stage before cut by content (`trim`), which the header
    /// cannot tell. A scale predicted from such a size is not safe to shrink on load by.
    public var isUpperBound: Bool

    public init(width: Int, height: Int, orientation: Int = 1, scale: Double = 1, isUpperBound: Bool = false) {
        self.width = width
        self.height = height
        self.orientation = orientation
        self.scale = scale
        self.isUpperBound = isUpperBound
    }
}

/// What a stage knows about the render it is part of. One per render; used on one thread.
public final class StageContext {
    /// When the render must be finished.
    public let deadline: Deadline
    /// The input as its header described it.
    public let input: InputInfo
    /// Pixels of the current image per pixel of the same image computed without shrink-on-load: the
    /// shrink factor's inverse until a stage sets an absolute size (then 1). Stages with coordinates in
    /// full-resolution pixels (explicit crop boxes) multiply by it.
    public var resolutionScale: Double
    /// Things worth telling the preset's author, such as a clamp that applied.
    public private(set) var notes: [String] = []

    public init(deadline: Deadline, input: InputInfo, resolutionScale: Double) {
        self.deadline = deadline
        self.input = input
        self.resolutionScale = resolutionScale
    }

    /// Records a note for reports.
    public func note(_ text: String) { notes.append(text) }

    /// Warnings recorded so far (each is also a note).
    public private(set) var warnings: [RenderWarning] = []

    /// Records something that made the rendition differ from what the preset asks, such as a clamp.
    public func warn(_ warning: RenderWarning) {
        warnings.append(warning)
        notes.append(warning.message)
    }
}

/// A render that succeeded but did not give exactly what the preset asks, so reports can flag it.
public struct RenderWarning: Sendable, Hashable, Codable {
    public struct Kind: RawRepresentable, Sendable, Hashable, Codable {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// `enlarge: false` kept the output smaller than the requested size.
        public static let enlargeClamped = Kind(rawValue: "enlarge_clamped")
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }
}

/// A point in time by which a render must finish, on the monotonic clock.
public struct Deadline: Sendable {
    /// The instant, or `nil` for no deadline.
    public let instant: ContinuousClock.Instant?

    public init(_ instant: ContinuousClock.Instant?) { self.instant = instant }

    /// No deadline.
    public static let none = Deadline(nil)

    /// `duration` from now.
    public static func after(_ duration: Duration) -> Deadline { Deadline(.now + duration) }

    /// Time left, or `nil` without a deadline. Negative once passed.
    public var remaining: Duration? { instant.map { $0 - .now } }

    /// Throws ``RenditionError/Code/deadlineExceeded`` if the deadline has passed.
    public func check(_ activity: String) throws(RenditionError) {
        if let remaining, remaining <= .zero {
            throw RenditionError(
                .deadlineExceeded,
                "The render ran out of time \(activity); try again later or use a smaller original.")
        }
    }

    /// Time left in whole microseconds (at least 1), or `nil` without a deadline.
    public var remainingMicroseconds: Int64? {
        remaining.map { max(1, $0.components.seconds * 1_000_000 + $0.components.attoseconds / 1_000_000_000_000) }
    }
}

/// What an input's header says, read before any pixel is decoded.
public struct InputInfo: Sendable, Hashable, Codable {
    public var format: InputFormat
    /// Width and height as stored (before EXIF orientation).
    public var width: Int
    public var height: Int
    /// EXIF orientation, 1…8.
    public var orientation: Int
    /// Frames or pages in the file (only the first is rendered).
    public var pages: Int
    public var byteCount: Int

    public init(format: InputFormat, width: Int, height: Int, orientation: Int, pages: Int, byteCount: Int) {
        self.format = format
        self.width = width
        self.height = height
        self.orientation = orientation
        self.pages = pages
        self.byteCount = byteCount
    }

    public var pixelCount: Int { width * height }
}
