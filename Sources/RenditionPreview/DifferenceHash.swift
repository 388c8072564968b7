internal import NIOPosix
internal import Vips

/// A 64-bit difference hash (dHash) of an encoded image: how a picture looks, not how its bytes are laid
/// out. Two renditions of one original that look alike have hashes a few bits apart, whatever the codec,
/// quality or exact size; a different crop or subject moves many bits.
public struct DifferenceHash: Sendable, Hashable, CustomStringConvertible {
    public let bits: UInt64

    public init(bits: UInt64) { self.bits = bits }

    /// Hashes encoded image bytes (JPEG, PNG, WebP, …) on NIO's blocking pool, since libvips blocks.
    /// `nil` for bytes that are not an image libvips can decode.
    public static func of(_ bytes: [UInt8]) async -> DifferenceHash? {
        try? await NIOThreadPool.singleton.runIfActive {
            defer { VipsRuntime.endJob() }
            return try? computed(bytes)
        }
    }

    /// The hash, computed on the calling thread (libvips work: keep it off the cooperative pool): grey,
    /// shrunk to 9×8, each bit says whether a pixel is brighter than its right neighbour. `nil` for bytes
    /// that are not an image Rendition reads.
    public static func computed(_ bytes: [UInt8]) throws -> DifferenceHash? {
        guard case .supported(let format) = SniffResult(bytes) else { return nil }
        var image = try VipsImage.load(VipsInput(bytes: bytes, format: format), access: .random)
        if image.hasAlpha { image = try image.flattened(background: [255, 255, 255]) }
        let grey = try image.colourspace(.bw).extractingBands(0).castToEightBit()
        let small = try grey.resized(
            horizontalScale: 9 / Double(grey.width), verticalScale: 8 / Double(grey.height), kernel: .linear)
        let pixels = try small.pixelBytes()
        let width = small.width
        guard width >= 9, small.height >= 8, pixels.count >= width * 8 else { return nil }
        var hash: UInt64 = 0
        for y in 0..<8 {
            for x in 0..<8 {
                hash <<= 1
                if pixels[y * width + x] > pixels[y * width + x + 1] { hash |= 1 }
            }
        }
        return DifferenceHash(bits: hash)
    }

    /// Bits that differ (0: the same picture; about 32: unrelated pictures; 64: opposite).
    public func distance(to other: DifferenceHash) -> Int { (bits ^ other.bits).nonzeroBitCount }

    public var description: String {
        let hex = String(bits, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
