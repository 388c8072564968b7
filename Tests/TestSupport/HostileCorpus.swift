public import Foundation
import Vips

/// One file of the hostile corpus and the answer the render route owes it.
public struct HostileFile: Sendable {
    /// The key's file name under the corpus folder (extensions lie on purpose).
    public let name: String
    public let bytes: [UInt8]
    /// The HTTP status the render route must answer.
    public let status: Int
    /// The JSON error code (`nil` when the file is meant to render: its danger is in metadata only).
    public let code: String?

    public init(name: String, bytes: [UInt8], status: Int, code: String?) {
        self.name = name
        self.bytes = bytes
        self.status = status
        self.code = code
    }
}

/// Files that attack an image service: truncations, pixel floods, lying chunk lengths, compression bombs,
/// documents in disguise. Everything is generated here; nothing binary is committed.
public enum HostileCorpus {
    /// Every hostile file with its expected status and error code.
    public static func files(maxInputBytes: Int) throws -> [HostileFile] {
        let photo = try Fixtures.photo(width: 800, height: 600)
        let baseline = try photo.jpegData(quality: 85)
        let progressive = try photo.jpegData(quality: 85, progressive: true)
        let png = try photo.pngData()
        let interlaced = try photo.pngData(interlace: true)
        let gif = try photo.gifData()
        let webp = try photo.webpData(quality: 80)
        let tiff = try photo.tiffData()
        let tinyIDAT = PNGFile.chunk("IDAT", Deflate.repeating(0, count: 17 * 16))
        func tinyPNG(_ chunks: [[UInt8]]) -> [UInt8] {
            PNGFile.signature + PNGFile.header(width: 16, height: 16, bitDepth: 8, colorType: 0) + chunks.joined()
                + tinyIDAT + PNGFile.chunk("IEND", [])
        }
        let billionLaughs = """
            <?xml version="1.0"?>
            <!DOCTYPE svg [
              <!ENTITY a "lollollollollollollollollollol">
              <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
              <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
              <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
              <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
              <!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
              <!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">
              <!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;">
              <!ENTITY i "&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;">
            ]>
            <svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><text>&i;</text></svg>
            """
        let corrupt = (422, "corrupt_image")
        let flood = (422, "too_many_pixels")
        let refused = (415, "unsupported_format")
        // Progressive JPEGs whose scans the rewriter must leave to libjpeg (`HostileScans`): wide enough that the
        // thumbnail preset decodes them at 1/8, where it runs.
        let wideProgressive = try ProgressiveJPEG.jpegtran(
            try Fixtures.photo(width: 3300, height: 600).jpegData(quality: 85))
        let hostileScans = HostileScans.allCases.map { edit in
            ("scans-\(edit.rawValue).jpg", edit.apply(to: wideProgressive), (422, "corrupt_image"))
        }
        let cases: [(String, [UInt8], (Int, String))] = [
            // Truncations: baseline and progressive, in the pixels and in the header.
            ("truncated-baseline.jpg", Fixtures.truncated(baseline, keeping: 0.5), corrupt),
            ("truncated-progressive.jpg", Fixtures.truncated(progressive, keeping: 0.5), corrupt),
            ("truncated-in-header.jpg", Array(baseline.prefix(300)), corrupt),
            ("truncated.png", Fixtures.truncated(png, keeping: 0.5), corrupt),
            ("truncated-interlaced.png", Fixtures.truncated(interlaced, keeping: 0.5), corrupt),
            ("truncated.gif", Fixtures.truncated(gif, keeping: 0.5), corrupt),
            ("truncated.webp", Fixtures.truncated(webp, keeping: 0.5), corrupt),
            ("truncated.tif", Fixtures.truncated(tiff, keeping: 0.5), corrupt),
            ("jpeg-header-then-garbage.jpg", Array(baseline.prefix(600)) + noise(count: 20_000), corrupt),
            ("scrambled-scan.jpg", Fixtures.corrupted(baseline), corrupt),
            // Past libjpeg's 65,500-pixel ceiling: its header is refused before the rewriter could run.
            ("scans-frame-65535.jpg", HostileScans.frameSize(wideProgressive, width: 0xFFFF, height: 0xFFFF), corrupt),
            ("sof-zero-size.jpg", try Fixtures.jpegClaiming(width: 0, height: 0), corrupt),
            // Pixel floods: headers that claim far more pixels than any preset allows.
            ("sof-65500x65500.jpg", try Fixtures.jpegClaiming(width: 65_500, height: 65_500), flood),
            ("ihdr-100000x100000.png", try Fixtures.pngClaiming(width: 100_000, height: 100_000), flood),
            // libpng's own width ceiling (one million) refuses this one before Rendition can count it.
            ("ihdr-637000000x34.png", try Fixtures.pngClaiming(width: 637_000_000, height: 34), corrupt),
            // libtiff refuses a strip this wide while the header is read.
            ("tiff-637000000x34.tif", TIFFFile.claiming(width: 637_000_000, height: 34), corrupt),
            ("tiff-100000x100000.tif", TIFFFile.claiming(width: 100_000, height: 100_000), flood),
            ("gif-screen-65535x65535.gif", GIFFile.claiming(screen: (65_535, 65_535), frame: (65_535, 65_535)), flood),
            ("gif-frame-claims-gigapixels.gif", GIFFile.claiming(screen: (16, 16), frame: (65_535, 65_535)), flood),
            ("png-65536x65536-real-data.png", PNGFile.blackBitmap(width: 65_536, height: 65_536), flood),
            // Chunk lengths that point a gigabyte past the end of the file.
            (
                "png-idat-length-1GiB.png",
                PNGFile.signature + PNGFile.header(width: 16, height: 16, bitDepth: 8, colorType: 0)
                    + PNGFile.lyingChunk("IDAT", length: 1 << 30, payload: Deflate.repeating(0, count: 64)),
                corrupt
            ),
            (
                "png-iccp-length-1GiB.png",
                PNGFile.signature + PNGFile.header(width: 16, height: 16, bitDepth: 8, colorType: 0)
                    + PNGFile.lyingChunk("iCCP", length: 1 << 30, payload: Array("icc\0\0".utf8)) + tinyIDAT,
                corrupt
            ),
            ("zero-bytes.jpg", [], refused),
            ("oversized.jpg", Array(baseline.prefix(2)) + noise(count: maxInputBytes + 1), (413, "input_too_large")),
            // Documents in disguise: each would reach a delegate (librsvg, poppler, Ghostscript, ImageMagick)
            // in a service that let libvips pick the loader.
            ("text.jpg", Array("just some text, not an image\n".utf8), refused),
            ("html.jpg", Array("<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>".utf8), refused),
            (
                "mvg.jpg",
                Array(
                    "push graphic-context\nviewbox 0 0 640 480\nfill 'url(https://example.com/x.jpg)'\npop graphic-context\n"
                        .utf8),
                refused
            ),
            ("svg.jpg", Array("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"/>".utf8), refused),
            ("billion-laughs.jpg", Array(billionLaughs.utf8), refused),
            (
                "pdf.jpg",
                Array(
                    "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
                        .utf8),
                refused
            ),
            ("eps.jpg", Array("%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n".utf8), refused),
            ("ps.jpg", Array("%!PS\n/Courier findfont 12 scalefont setfont\nshowpage\n".utf8), refused),
            ("xml.jpg", Array("<?xml version=\"1.0\"?><image/>".utf8), refused),
            ("msl.jpg", Array("<?xml version=\"1.0\"?><image><read filename=\"/etc/passwd\"/></image>".utf8), refused),
            ("random-bytes.jpg", noise(count: 4096), refused),
        ]
        return (cases + hostileScans).map { HostileFile(name: $0.0, bytes: $0.1, status: $0.2.0, code: $0.2.1) } + [
            // Compression bombs in metadata: the pixels are fine, the text chunks are dropped before libpng
            // inflates them, so these render, in bounded memory and time.
            HostileFile(
                name: "png-ztxt-64MiB.png",
                bytes: tinyPNG([
                    PNGFile.chunk("zTXt", Array("Comment\0\0".utf8) + Deflate.repeating(0x41, count: 64 << 20))
                ]),
                status: 301, code: nil),
            HostileFile(
                name: "png-ztxt-12x45MiB.png",
                bytes: tinyPNG(
                    (0..<12).map {
                        PNGFile.chunk("zTXt", Array("Comment\($0)\0\0".utf8) + Deflate.repeating(0x41, count: 45 << 20))
                    }),
                status: 301, code: nil),
            HostileFile(
                name: "png-itxt-64MiB.png",
                bytes: tinyPNG([
                    PNGFile.chunk(
                        "iTXt", Array("XML:com.adobe.xmp\0\u{1}\0\0\0".utf8) + Deflate.repeating(0x20, count: 64 << 20))
                ]),
                status: 301, code: nil),
        ]
    }

    /// Deterministic junk.
    static func noise(count: Int) -> [UInt8] {
        var state: UInt32 = 0x1234_5678
        return (0..<count).map { _ in
            state = state &* 1_664_525 &+ 1_013_904_223
            return UInt8(truncatingIfNeeded: state >> 24)
        }
    }
}

/// zlib streams of one repeated byte, made without zlib: one literal, then back-references of 258 bytes at
/// distance 1 in a fixed-Huffman block, 13 bits each (a ratio of about 160:1, enough for any bomb here).
public enum Deflate {
    public static func repeating(_ byte: UInt8, count: Int) -> [UInt8] {
        var writer = BitWriter()
        writer.bytes = [0x78, 0x01]
        writer.write(1, bits: 1)  // BFINAL
        writer.write(1, bits: 2)  // BTYPE 01: fixed Huffman
        var remaining = count
        if remaining > 0 {
            writer.literal(byte)
            remaining -= 1
        }
        // Length symbol 285 (258 bytes, code 11000101) then distance symbol 0 (distance 1, code 00000),
        // bit-reversed once here: Huffman codes go most significant bit first.
        let copy = BitWriter.reversed(0b1100_0101, bits: 8)
        while remaining >= 258 {
            writer.write(copy, bits: 13)
            remaining -= 258
        }
        for _ in 0..<remaining { writer.literal(byte) }
        writer.huffman(0, bits: 7)  // end of block (256)
        writer.flush()
        let adler = adler32(repeating: byte, count: count)
        return writer.bytes + [24, 16, 8, 0].map { UInt8((adler >> UInt32($0)) & 0xFF) }
    }

    /// Adler-32 of `count` copies of `byte`, in closed form.
    static func adler32(repeating byte: UInt8, count: Int) -> UInt32 {
        let modulus: UInt64 = 65_521
        let n = UInt64(count)
        let a = (1 + UInt64(byte) * (n % modulus)) % modulus
        let triangle = (n * (n + 1) / 2) % modulus
        let b = (n % modulus + UInt64(byte) * triangle) % modulus
        return UInt32(b << 16 | a)
    }

    struct BitWriter {
        var bytes: [UInt8] = []
        var buffer: UInt64 = 0
        var count = 0

        /// Writes `value`'s low `bits`, least significant first (deflate's order for everything but codes).
        mutating func write(_ value: UInt32, bits: Int) {
            buffer |= UInt64(value) << UInt64(count)
            count += bits
            while count >= 8 {
                bytes.append(UInt8(buffer & 0xFF))
                buffer >>= 8
                count -= 8
            }
        }

        /// Writes a Huffman code, most significant bit first.
        mutating func huffman(_ code: UInt32, bits: Int) {
            write(Self.reversed(code, bits: bits), bits: bits)
        }

        static func reversed(_ code: UInt32, bits: Int) -> UInt32 {
            var result: UInt32 = 0
            for index in 0..<bits where code & (1 << UInt32(index)) != 0 { result |= 1 << UInt32(bits - 1 - index) }
            return result
        }

        mutating func literal(_ byte: UInt8) {
            if byte < 144 {
                huffman(0x30 + UInt32(byte), bits: 8)
            } else {
                huffman(0x190 + UInt32(byte) - 144, bits: 9)
            }
        }

        mutating func flush() {
            if count > 0 { write(0, bits: 8 - count) }
        }
    }
}

/// PNG files built chunk by chunk.
public enum PNGFile {
    public static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// A chunk with its length and CRC.
    public static func chunk(_ type: String, _ payload: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + payload
        return bigEndian(UInt32(payload.count)) + body + bigEndian(Fixtures.crc32(body[...]))
    }

    /// A chunk whose length field says `length` while only `payload` follows.
    public static func lyingChunk(_ type: String, length: UInt32, payload: [UInt8]) -> [UInt8] {
        bigEndian(length) + Array(type.utf8) + payload
    }

    public static func header(width: Int, height: Int, bitDepth: UInt8, colorType: UInt8) -> [UInt8] {
        chunk("IHDR", bigEndian(UInt32(width)) + bigEndian(UInt32(height)) + [bitDepth, colorType, 0, 0, 0])
    }

    /// A complete, valid 1-bit black PNG: every row is a filter byte and zeros, so the whole image data
    /// is one run of zeros (a 65536² image is 537 MB of pixels in about 3.4 MB of file).
    public static func blackBitmap(width: Int, height: Int) -> [UInt8] {
        let row = 1 + (width + 7) / 8
        return signature + header(width: width, height: height, bitDepth: 1, colorType: 0)
            + chunk("IDAT", Deflate.repeating(0, count: row * height)) + chunk("IEND", [])
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] { [24, 16, 8, 0].map { UInt8((value >> UInt32($0)) & 0xFF) } }
}

/// A GIF whose logical screen and first frame claim any size, with a one-pixel LZW payload.
public enum GIFFile {
    public static func claiming(screen: (Int, Int), frame: (Int, Int)) -> [UInt8] {
        func le(_ value: Int) -> [UInt8] { [UInt8(value & 0xFF), UInt8((value >> 8) & 0xFF)] }
        let header = Array("GIF89a".utf8) + le(screen.0) + le(screen.1) + [0x80, 0, 0] + [0, 0, 0, 255, 255, 255]
        let descriptor = [0x2C] + le(0) + le(0) + le(frame.0) + le(frame.1) + [0]
        return header + descriptor + [0x02, 0x02, 0x44, 0x01, 0x00, 0x3B]
    }
}

/// A little-endian baseline TIFF whose IFD claims any size over 100 bytes of grey strip.
public enum TIFFFile {
    public static func claiming(width: Int, height: Int) -> [UInt8] {
        func u16(_ value: Int) -> [UInt8] { [UInt8(value & 0xFF), UInt8((value >> 8) & 0xFF)] }
        func u32(_ value: Int) -> [UInt8] { (0..<4).map { UInt8((value >> (8 * $0)) & 0xFF) } }
        // Tag, type (3 SHORT, 4 LONG), count 1, value.
        let entries: [(Int, Int, Int)] = [
            (256, 4, width), (257, 4, height), (258, 3, 8), (259, 3, 1), (262, 3, 1), (273, 4, 8 + 2 + 10 * 12 + 4),
            (277, 3, 1), (278, 4, height), (279, 4, 100), (284, 3, 1),
        ]
        var bytes = Array("II".utf8) + u16(42) + u32(8) + u16(entries.count)
        for (tag, type, value) in entries {
            bytes += u16(tag) + u16(type) + u32(1) + (type == 3 ? u16(value) + [0, 0] : u32(value))
        }
        bytes += u32(0)
        return bytes + [UInt8](repeating: 128, count: 100)
    }
}
