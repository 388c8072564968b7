public import Foundation
public import RenditionCore
public import Vips

/// Test images, generated with libvips: nothing binary is committed.
public enum Fixtures {
    public static let red: [Double] = [220, 30, 30]
    public static let blue: [Double] = [30, 30, 220]
    public static let grey: [Double] = [128, 128, 128]

    /// An upright `width`×`height` grey image with a red block in the top-left corner and a blue block
    /// in the top-right corner: the pair tells all eight orientations apart.
    public static func upright(width: Int, height: Int) throws -> VipsImage {
        let side = max(4, min(width, height) / 4)
        return try VipsImage.solid(width: width, height: height, color: grey)
            .drawingRectangle(color: red, left: 0, top: 0, width: side, height: side)
            .drawingRectangle(color: blue, left: width - side, top: 0, width: side, height: side)
    }

    /// The pixels a camera would store for `upright` with EXIF `orientation`: the inverse of the
    /// transform a viewer applies, with the tag set.
    public static func stored(_ upright: VipsImage, orientation: Int) throws -> VipsImage {
        let pixels: VipsImage =
            switch orientation {
            case 2: try upright.flipped(.horizontal)
            case 3: try upright.rotated(.d180)
            case 4: try upright.flipped(.vertical)
            case 5: try upright.rotated(.d90).flipped(.horizontal)  // transpose, its own inverse
            case 6: try upright.rotated(.d270)
            case 7: try upright.rotated(.d270).flipped(.horizontal)  // transverse, its own inverse
            case 8: try upright.rotated(.d90)
            default: upright
            }
        return try pixels.setting("orientation", to: orientation)
    }

    /// JPEG bytes that keep metadata (so EXIF orientation is written).
    public static func jpeg(_ image: VipsImage, quality: Int = 90, progressive: Bool = false) throws -> [UInt8] {
        try image.jpegData(quality: quality, progressive: progressive, strip: false)
    }

    /// A smooth colourful photo-like image: a ramp in red, its mirror in blue, noise in green.
    public static func photo(width: Int, height: Int) throws -> VipsImage {
        let ramp = try VipsImage.ramp(width: width, height: height)
        let mirrored = try ramp.flipped(.horizontal)
        let noise = try VipsImage.noise(width: width, height: height, mean: 128, sigma: 20)
        return try ramp.appendingBands(of: noise).appendingBands(of: mirrored).declaring(.srgb)
    }

    /// A JPEG whose SOF marker claims `width`×`height` (the data stays that of a tiny image).
    public static func jpegClaiming(width: Int, height: Int) throws -> [UInt8] {
        var bytes = try VipsImage.solid(width: 16, height: 16, color: grey).jpegData(quality: 80)
        guard
            let sof = (0..<bytes.count - 9).first(where: {
                bytes[$0] == 0xFF && (bytes[$0 + 1] == 0xC0 || bytes[$0 + 1] == 0xC2)
            })
        else { fatalError("no SOF marker") }
        bytes[sof + 5] = UInt8(height >> 8)
        bytes[sof + 6] = UInt8(height & 0xFF)
        bytes[sof + 7] = UInt8(width >> 8)
        bytes[sof + 8] = UInt8(width & 0xFF)
        return bytes
    }

    /// A PNG whose IHDR claims `width`×`height`, with a correct CRC so only the size is a lie.
    public static func pngClaiming(width: Int, height: Int) throws -> [UInt8] {
        var bytes = try VipsImage.solid(width: 16, height: 16, color: grey).pngData()
        // Signature (8) + length (4) + "IHDR" (4), then width and height, big-endian.
        for (offset, value) in [(16, width), (20, height)] {
            for index in 0..<4 { bytes[offset + index] = UInt8((value >> (24 - 8 * index)) & 0xFF) }
        }
        let crc = crc32(bytes[12..<29])
        for index in 0..<4 { bytes[29 + index] = UInt8((crc >> (24 - 8 * UInt32(index))) & 0xFF) }
        return bytes
    }

    /// The first `fraction` of `bytes`.
    public static func truncated(_ bytes: [UInt8], keeping fraction: Double) -> [UInt8] {
        Array(bytes.prefix(Int(Double(bytes.count) * fraction)))
    }

    /// `bytes` with the entropy-coded middle overwritten by junk (headers intact).
    public static func corrupted(_ bytes: [UInt8]) -> [UInt8] {
        var result = bytes
        let start = bytes.count / 3
        for index in start..<min(bytes.count - 2, start + bytes.count / 3) {
            result[index] = UInt8(truncatingIfNeeded: index * 7919) | 0x01
        }
        return result
    }

    /// Decodes rendered bytes for inspection (random access, whole image).
    public static func decode(_ bytes: [UInt8]) throws -> VipsImage {
        guard case .supported(let format) = SniffResult(bytes) else { throw FixtureError("not an image") }
        return try VipsImage.load(VipsInput(bytes: bytes, format: format), access: .random)
    }

    static func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}

public struct FixtureError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Colour names for the markers, read back from decoded pixels (tolerant of JPEG and resampling).
public enum Marker: String, Sendable {
    case red, blue, grey, other

    public init(_ pixel: [Double]) {
        let (r, g, b) = (pixel[0], pixel.count > 2 ? pixel[1] : pixel[0], pixel.count > 2 ? pixel[2] : pixel[0])
        // Dominance rather than exact values: a round trip through CMYK dulls blue to about (52, 62, 137).
        if r > 150 && r > g + 80 && r > b + 80 {
            self = .red
        } else if b > 120 && b > r + 60 && b > g + 60 {
            self = .blue
        } else if abs(r - 128) < 30 && abs(g - 128) < 30 && abs(b - 128) < 30 {
            self = .grey
        } else {
            self = .other
        }
    }

    /// The markers in the four corners (inset by an eighth of the short side): TL, TR, BL, BR.
    public static func corners(of image: VipsImage) throws -> [Marker] {
        let inset = max(1, min(image.width, image.height) / 8)
        let xs = [inset, image.width - 1 - inset]
        let ys = [inset, image.height - 1 - inset]
        return try [(xs[0], ys[0]), (xs[1], ys[0]), (xs[0], ys[1]), (xs[1], ys[1])].map {
            try Marker(image.pixel(x: $0.0, y: $0.1))
        }
    }
}

/// The repository's root folder (for committed files such as `pipelines/`).
public enum Repository {
    public static func root(_ file: String = #filePath) -> URL {
        var url = URL(fileURLWithPath: file)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        fatalError("no Package.swift above \(file)")
    }
}

extension StageContext {
    /// A context for testing one stage on `image`, as if it had been loaded at full size.
    public static func forTesting(_ image: VipsImage, format: InputFormat = .jpeg, deadline: Deadline = .none)
        -> StageContext
    {
        StageContext(
            deadline: deadline,
            input: InputInfo(
                format: format, width: image.width, height: image.height, orientation: image.orientation, pages: 1,
                byteCount: 0),
            resolutionScale: 1)
    }
}

/// A deterministic sequence of whole numbers for sweeps over awkward sizes: the same seed, the same cases
/// on every run (a linear congruential generator; quality does not matter here, repeatability does).
public struct Sweep {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// The next number in `range`.
    public mutating func next(_ range: ClosedRange<Int>) -> Int {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return range.lowerBound + Int((state >> 33) % UInt64(range.count))
    }
}
