import Foundation
public import RenditionCore
public import Vips

/// `watermark`: composites a PNG or WebP mark, kept in the `watermarks` folder next to the pipeline file,
/// at a compass point of the image.
///
/// The mark is read, checked and decoded into memory when the preset is planned, so a missing, unreadable
/// or oversized file is a plan-time problem and renders never touch the disk. The mark is scaled to
/// `width` × the output width (and down further if it would not fit the image, which never grows); on
/// an axis where the image has no room for the margin, the margin shrinks to what fits.
public struct Watermark: FilterStage {
    public static let name = "watermark"
    public static let summary = "Composites a PNG or WebP mark from the watermarks folder at a compass point."

    /// The largest mark accepted, by its header, before any pixel is decoded: far above any logo, far below
    /// what would make every plan hold a decompression bomb in memory.
    public static let maxPixels = 25_000_000
    /// The largest mark file read.
    public static let maxBytes = 10_000_000

    /// Where the mark sits: a compass point or the centre.
    public enum Placement: String, Sendable, CaseIterable {
        case centre, north, northeast, east, southeast, south, southwest, west, northwest

        var gravity: Gravity { Gravity(rawValue: rawValue)! }
    }

    static let image = StageOption.fileName(
        "image",
        help: "The mark: a PNG or WebP file in the watermarks folder next to the pipeline file (at most 25 MP).")
    static let gravity = StageOption<Placement>.choice(
        "gravity", default: .southeast, help: "Where the mark sits: a compass point or centre.")
    static let margin = StageOption.integer(
        "margin", min: 0, max: 10_000, default: 16, help: "Pixels between the mark and the edges it is placed at.")
    static let opacity = StageOption.number(
        "opacity", min: 0, max: 1, default: 0.5, help: "The mark's opacity, 0 (invisible) to 1 (as drawn).")
    static let width = StageOption.number(
        "width", min: 0.01, max: 1, default: 0.2, help: "The mark's width as a fraction of the output width.")

    public static let options = OptionSpec.list(image, gravity, margin, opacity, width)

    /// The decoded mark, in memory: 8-bit sRGB with alpha.
    let mark: SharedImage
    let gravity: Placement
    let margin: Int
    let opacity: Double
    let width: Double
    public let contentDigest: String?

    public func scalesWithOutput(_ option: String) -> Bool { option == Self.margin.name }

    public init(options: StageOptions) throws {
        gravity = options[Self.gravity]
        margin = options[Self.margin]
        opacity = options[Self.opacity]
        width = options[Self.width]
        let (image, digest) = try Self.load(options[Self.image], options: options)
        mark = SharedImage(image)
        contentDigest = digest
    }

    /// The path of mark `name` for the pipeline file `file`: `watermarks/<name>` beside it.
    static func path(of name: String, besides file: String) -> String {
        guard let slash = file.lastIndex(of: "/") else { return "watermarks/\(name)" }
        return "\(file[...slash])watermarks/\(name)"
    }

    /// Reads, sniffs, checks and decodes the mark, refusing what an original would be refused for.
    /// Returns the mark and the digest of its file, so a new mark under the same name changes the plan's
    /// fingerprint (and renditions with the old mark count as stale).
    static func load(_ name: String, options: StageOptions) throws -> (VipsImage, String) {
        let path = path(of: name, besides: options.location.file)
        func problem(_ message: String) -> PipelineProblem { options.problem(Self.image, "\(path) \(message)") }
        let size = try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int
        guard let size, let data = FileManager.default.contents(atPath: path) else {
            throw problem("does not exist or cannot be read; put the PNG or WebP mark there or correct the name")
        }
        guard size <= maxBytes else {
            throw problem("is \(size) bytes, over the limit of \(maxBytes); use a smaller PNG or WebP")
        }
        let bytes = [UInt8](data)
        let format: InputFormat
        switch SniffResult(bytes) {
        case .supported(let found) where found == .png || found == .webp: format = found
        case .supported(let found):
            throw problem("is \(found.rawValue.uppercased()), not PNG or WebP; save the mark as PNG or WebP")
        case .refused(let kind): throw problem("is \(kind), not an image; save the mark as PNG or WebP")
        case .empty: throw problem("is empty (0 bytes); save the mark as PNG or WebP")
        case .unknown: throw problem("is not a recognised image; save the mark as PNG or WebP")
        }
        try VipsRuntime.start()
        do {
            let header = try VipsImage.load(VipsInput(bytes: bytes, format: format), failOn: .error)
            // Refused on the header's word, before a single pixel is decoded.
            guard header.width * header.height <= maxPixels else {
                throw problem(
                    "declares \(header.width)×\(header.height) pixels, over the limit of \(Quantity.describe(count: maxPixels)); use a smaller mark"
                )
            }
            var mark = try header.colourspace(.srgb)
            if !mark.hasAlpha { mark = try mark.appendingBand(255) }
            return (try mark.castToEightBit().copiedToMemory(), digest(of: bytes))
        } catch let error as PipelineProblem {
            throw error
        } catch {
            throw problem("does not decode (corrupt or truncated); save the mark again as PNG or WebP")
        }
    }

    /// The mark's size and top-left corner on an image of `imageWidth`×`imageHeight`.
    func placement(imageWidth: Int, imageHeight: Int) -> (width: Int, height: Int, x: Int, y: Int) {
        let (markWidth, markHeight) = (Double(mark.image.width), Double(mark.image.height))
        let scale = min(
            width * Double(imageWidth) / markWidth, Double(imageWidth) / markWidth, Double(imageHeight) / markHeight)
        let w = min(imageWidth, max(1, Int((markWidth * scale).rounded())))
        let h = min(imageHeight, max(1, Int((markHeight * scale).rounded())))
        let insetX = max(0, min(margin, (imageWidth - w) / 2))
        let insetY = max(0, min(margin, (imageHeight - h) / 2))
        let (x, y) = gravity.gravity.offset(
            spareX: imageWidth - w - 2 * insetX, spareY: imageHeight - h - 2 * insetY)
        return (w, h, x + insetX, y + insetY)
    }

    public func apply(to image: VipsImage, context: StageContext) throws -> VipsImage {
        let base = try image.convertingCMYKToSRGB()
        let grey = base.interpretation == .bw || base.interpretation == .grey16
        let place = placement(imageWidth: base.width, imageHeight: base.height)
        var overlay = mark.image
        if place.width != overlay.width || place.height != overlay.height {
            // Resampled premultiplied, so transparent pixels lend no colour to the mark's edges.
            let premultiplied = try overlay.applying("premultiply")
            var resized = try premultiplied.resized(
                horizontalScale: Double(place.width) / Double(overlay.width),
                verticalScale: Double(place.height) / Double(overlay.height), kernel: .lanczos3)
            // libvips rounds its output size itself; pin it to the planned size.
            if resized.width > place.width || resized.height > place.height {
                resized = try resized.extracting(
                    left: 0, top: 0, width: min(resized.width, place.width),
                    height: min(resized.height, place.height))
            }
            if resized.width < place.width || resized.height < place.height {
                resized = try resized.embedded(x: 0, y: 0, width: place.width, height: place.height, background: [0])
            }
            overlay = try resized.applying("unpremultiply").castToEightBit()
        }
        if grey { overlay = try overlay.colourspace(.bw) }
        let colourBands = overlay.bands - 1
        overlay = try overlay.applying(
            "linear",
            [
                "a": .doubles(Array(repeating: 1, count: colourBands) + [opacity]),
                "b": .doubles(Array(repeating: 0, count: overlay.bands)),
                "uchar": .bool(true),
            ])
        var result = try VipsOperation.call(
            "composite2",
            [
                "base": .image(base), "overlay": .image(overlay), "mode": .enumNick("over"),
                "x": .int(place.x), "y": .int(place.y),
                "compositing_space": .enumNick(grey ? Interpretation.bw.rawValue : Interpretation.srgb.rawValue),
            ]
        ).image()
        // Over an opaque image the composite is opaque: its alpha band would only change the output's format.
        if !base.hasAlpha, result.hasAlpha {
            result = try result.extractingBands(0, count: result.bands - 1)
        }
        return result
    }
}

/// The mark, shared read-only by every render of the plan: its pixels were computed into memory at plan time
/// and nothing writes to them afterwards, and libvips images are safe to read from many threads once in
/// memory (each render only builds its own operations on top, which takes a reference atomically).
final class SharedImage: @unchecked Sendable {
    let image: VipsImage

    init(_ image: VipsImage) { self.image = image }
}
