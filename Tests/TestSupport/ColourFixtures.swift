/// RGB colour spaces a photo may be tagged with, as minimal ICC v2 matrix/TRC profiles built here.
public enum RGBSpace: String, Sendable, CaseIterable {
    case adobeRGB, displayP3, proPhoto

    /// The red, green and blue colorants (XYZ, adapted to D50) and the tone curve's gamma.
    var colorants: [[Double]] {
        switch self {
        case .adobeRGB: [[0.6097, 0.3111, 0.0195], [0.2053, 0.6257, 0.0609], [0.1492, 0.0632, 0.7446]]
        case .displayP3: [[0.5151, 0.2412, -0.0011], [0.2920, 0.6922, 0.0419], [0.1571, 0.0666, 0.7841]]
        case .proPhoto: [[0.7977, 0.2880, 0.0000], [0.1352, 0.7119, 0.0000], [0.0313, 0.0001, 0.8249]]
        }
    }

    var gamma: Double {
        switch self {
        case .adobeRGB: 563.0 / 256
        case .displayP3: 2.2
        case .proPhoto: 1.8
        }
    }

    /// An ICC v2 display profile (`mntr`, RGB → XYZ) for the space.
    public var iccProfile: [UInt8] {
        func be32(_ value: UInt32) -> [UInt8] { [24, 16, 8, 0].map { UInt8((value >> UInt32($0)) & 0xFF) } }
        func s15(_ value: Double) -> [UInt8] { be32(UInt32(bitPattern: Int32((value * 65536).rounded()))) }
        func padded(_ bytes: [UInt8]) -> [UInt8] { bytes + [UInt8](repeating: 0, count: (4 - bytes.count % 4) % 4) }
        func xyz(_ value: [Double]) -> [UInt8] { Array("XYZ ".utf8) + [0, 0, 0, 0] + value.flatMap(s15) }
        let name = "Rendition test \(rawValue)"
        let description =
            Array("desc".utf8) + [0, 0, 0, 0] + be32(UInt32(name.utf8.count + 1)) + Array(name.utf8) + [0]
            + [UInt8](repeating: 0, count: 4 + 4 + 2 + 1 + 67)
        let gammaFixed = UInt16((gamma * 256).rounded())
        let curve = Array("curv".utf8) + [0, 0, 0, 0] + be32(1) + [UInt8(gammaFixed >> 8), UInt8(gammaFixed & 0xFF)]
        let copyright = Array("text".utf8) + [0, 0, 0, 0] + Array("No copyright, test data\0".utf8)
        let d50 = [0.9642, 1.0, 0.8249]
        let tags: [(String, [UInt8])] = [
            ("desc", description), ("wtpt", xyz(d50)), ("rXYZ", xyz(colorants[0])), ("gXYZ", xyz(colorants[1])),
            ("bXYZ", xyz(colorants[2])), ("rTRC", curve), ("gTRC", curve), ("bTRC", curve), ("cprt", copyright),
        ]
        var offset = 128 + 4 + 12 * tags.count
        var table: [UInt8] = be32(UInt32(tags.count))
        var data: [UInt8] = []
        for (signature, body) in tags {
            table += Array(signature.utf8) + be32(UInt32(offset)) + be32(UInt32(body.count))
            let block = padded(body)
            data += block
            offset += block.count
        }
        var header = be32(UInt32(offset)) + [0, 0, 0, 0] + [0x02, 0x10, 0, 0] + Array("mntrRGB XYZ ".utf8)
        header += [0x07, 0xEA, 0, 11, 0, 29, 0, 0, 0, 0, 0, 0] + Array("acsp".utf8)
        header += [UInt8](repeating: 0, count: 4 + 4 + 4 + 4 + 8 + 4) + d50.flatMap(s15)
        header += [UInt8](repeating: 0, count: 128 - header.count)
        return header + table + data
    }
}

/// Embeds colour profiles into files made by libvips.
public enum ColourFixtures {
    /// `jpeg` with `profile` in an `APP2 ICC_PROFILE` segment right after SOI (one segment: profiles
    /// here are small).
    public static func jpeg(_ jpeg: [UInt8], embedding profile: [UInt8]) -> [UInt8] {
        let payload = Array("ICC_PROFILE\0".utf8) + [1, 1] + profile
        let length = payload.count + 2
        return Array(jpeg.prefix(2)) + [0xFF, 0xE2, UInt8(length >> 8), UInt8(length & 0xFF)] + payload
            + jpeg.dropFirst(2)
    }

    /// An 8-bit RGB PNG of one colour with `profile` in its `iCCP` chunk, built chunk by chunk.
    public static func png(width: Int, height: Int, color: [UInt8], embedding profile: [UInt8]) -> [UInt8] {
        let row: [UInt8] = [0] + (0..<width).flatMap { _ in color }
        let pixels: [UInt8] = (0..<height).flatMap { _ in row }
        return PNGFile.signature + PNGFile.header(width: width, height: height, bitDepth: 8, colorType: 2)
            + PNGFile.chunk("iCCP", Array("test\0".utf8) + [0] + Deflate.stored(profile))
            + PNGFile.chunk("IDAT", Deflate.stored(pixels)) + PNGFile.chunk("IEND", [])
    }
}

extension Deflate {
    /// A zlib stream of stored (uncompressed) blocks: any bytes, no compression.
    public static func stored(_ bytes: [UInt8]) -> [UInt8] {
        var output: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let count = min(65_535, bytes.count - offset)
            let final: UInt8 = offset + count == bytes.count ? 1 : 0
            output += [
                final, UInt8(count & 0xFF), UInt8(count >> 8), UInt8(~count & 0xFF), UInt8((~count >> 8) & 0xFF),
            ]
            output += bytes[offset..<offset + count]
            offset += count
        } while offset < bytes.count
        var a: UInt32 = 1
        var b: UInt32 = 0
        for byte in bytes {
            a = (a + UInt32(byte)) % 65_521
            b = (b + a) % 65_521
        }
        let adler = b << 16 | a
        return output + [24, 16, 8, 0].map { UInt8((adler >> UInt32($0)) & 0xFF) }
    }
}
