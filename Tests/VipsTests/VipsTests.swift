import TestSupport
import Testing
import Vips

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct SniffTests {
    @Test(
        arguments: [
            ([0xFF, 0xD8, 0xFF, 0xE0], InputFormat.jpeg),
            ([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], .png),
            (Array("GIF89a".utf8), .gif),
            (Array("RIFF\u{0}\u{0}\u{0}\u{0}WEBPVP8 ".utf8), .webp),
            ([0x49, 0x49, 0x2A, 0x00], .tiff),
            ([0x4D, 0x4D, 0x00, 0x2A], .tiff),
            ([0, 0, 0, 0x1C] + Array("ftypavif".utf8), .heif),
            ([0, 0, 0, 0x18] + Array("ftypheic".utf8), .heif),
        ] as [([UInt8], InputFormat)])
    func recognisesAcceptedFormats(bytes: [UInt8], format: InputFormat) {
        #expect(SniffResult(bytes) == .supported(format))
    }

    @Test(arguments: [
        ("<svg xmlns='http://www.w3.org/2000/svg'/>", "SVG"),
        ("  <?xml version='1.0'?><svg/>", "XML or SVG"),
        ("%PDF-1.7\n", "PDF"),
        ("%!PS-Adobe-3.0 EPSF-3.0", "PostScript"),
        ("<!DOCTYPE html><html></html>", "HTML"),
        ("<html><body>hi</body></html>", "HTML"),
        ("push graphic-context\nviewbox 0 0 640 480", "MVG"),
        ("just some words in a file", "text"),
    ])
    func refusesEverythingElse(text: String, kind: String) {
        #expect(SniffResult(Array(text.utf8)) == .refused(kind))
    }

    @Test func emptyAndBinaryJunk() {
        #expect(SniffResult([UInt8]()) == .empty)
        #expect(SniffResult([0x00, 0x01, 0x02, 0x03, 0xFE]) == .unknown)
    }
}

@Suite struct LibvipsTests {
    init() throws { try VipsRuntime.start() }

    @Test func refusedLoadersAreBlockedInsideLibvips() throws {
        // Even if a file slipped past sniffing, libvips itself refuses to load it.
        let svg = Array("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"/>".utf8)
        let ppm = Array("P6\n2 2\n255\n".utf8) + [UInt8](repeating: 0, count: 12)
        // Not PDF: libvips 8.14's PDF loader opens the document in its own build step, before the block is
        // checked, so poppler would still parse it. That is why Rendition sniffs first and only ever calls
        // the allow-listed loaders by name (see the engine's refusal tests).
        let svgError = VipsRuntime.genericOpenError(for: svg)
        #expect(svgError?.kind == .blocked, "\(String(describing: svgError))")
        // PPM has no buffer loader of its own; only ImageMagick's module could open it, and that module is
        // never loaded (see onlyTheHEIFModuleIsLoaded), so libvips finds no loader at all.
        let ppmError = VipsRuntime.genericOpenError(for: ppm)
        #expect(ppmError?.detail.contains("not in a known format") == true, "\(String(describing: ppmError))")
        // Allowed formats still open.
        let jpeg = try VipsImage.solid(width: 8, height: 8, color: [1, 2, 3]).jpegData(quality: 80)
        #expect(VipsRuntime.genericOpenError(for: jpeg) == nil)
    }

    /// The delegates an image service must never reach with untrusted bytes: ImageMagick, Ghostscript and
    /// poppler (PDF/PostScript), librsvg, OpenSlide, matio, cfitsio, and libvips' own raw formats.
    @Test func delegateLoadersAreBlockedByName() throws {
        let delegates = [
            "magickload", "pdfload", "svgload", "openslideload", "matload", "fitsload", "niftiload",
            "jxlload", "openexrload", "matrixload", "csvload", "ppmload", "radload", "analyzeload", "rawload",
            "vipsload",
        ]
        var present: [String] = []
        for base in delegates {
            for nickname in [base, base + "_buffer", base + "_source"] {
                guard let blocked = VipsRuntime.isBlocked(nickname) else { continue }
                present.append(nickname)
                #expect(blocked, "\(nickname) is callable")
            }
        }
        // Debian's libvips links librsvg: it exists, blocked.
        #expect(present.contains("svgload_buffer"), "\(present)")
        for allowed in ["jpegload_source", "pngload_source", "webpload_source", "gifload_source", "tiffload_source"] {
            #expect(VipsRuntime.isBlocked(allowed) == false, "\(allowed)")
        }
    }

    /// Debian ships ImageMagick, poppler, OpenSlide and JPEG XL as libvips modules; Rendition never loads
    /// them (they do not even exist in the process), only the HEIF one, whose loader stays callable.
    @Test func onlyTheHEIFModuleIsLoaded() throws {
        try VipsRuntime.start()
        for nickname in ["magickload_buffer", "pdfload_buffer", "openslideload_source", "jxlload_buffer"] {
            #expect(VipsRuntime.isBlocked(nickname) == nil, "\(nickname) was loaded")
        }
        let heif = "/usr/lib/x86_64-linux-gnu/vips-modules-8.14/vips-heif.so"
        if access(heif, F_OK) == 0 {
            #expect(VipsRuntime.isBlocked("heifload_source") == false)
        }
    }

    @Test func pngTextChunksAreDroppedBeforeDecoding() throws {
        let plain = try VipsImage.solid(width: 16, height: 16, color: [90]).pngData()
        #expect(PNGChunks.removingText(from: plain) == plain)
        let idat = PNGFile.chunk("IDAT", Deflate.repeating(0, count: 17 * 16))
        let chunks = [
            PNGFile.chunk("tEXt", Array("Comment\0hello".utf8)),
            PNGFile.chunk("zTXt", Array("Comment\0\0".utf8) + Deflate.repeating(0x41, count: 1 << 20)),
            PNGFile.chunk("iTXt", Array("XML:com.adobe.xmp\0\0\0\0\0<x/>".utf8)),
        ]
        let header = PNGFile.signature + PNGFile.header(width: 16, height: 16, bitDepth: 8, colorType: 0)
        let iend = PNGFile.chunk("IEND", [])
        let stripped = PNGChunks.removingText(from: header + chunks.joined() + idat + iend)
        #expect(stripped == header + idat + iend)
        // A chunk length past the end stops the surgery; the rest is left for libpng to refuse.
        let lying = header + chunks[0] + PNGFile.lyingChunk("IDAT", length: 1 << 30, payload: [1, 2, 3])
        #expect(
            PNGChunks.removingText(from: lying) == header
                + PNGFile.lyingChunk("IDAT", length: 1 << 30, payload: [1, 2, 3]))
        #expect(PNGChunks.removingText(from: Array("not a png".utf8)) == Array("not a png".utf8))
    }

    /// The corpus's hand-made zlib streams and PNG files are valid: libpng decodes them.
    @Test func handMadeDeflateStreamsDecode() throws {
        let bitmap = PNGFile.blackBitmap(width: 300, height: 200)
        let image = try VipsImage.load(VipsInput(bytes: bitmap, format: .png), access: .random)
        #expect(image.width == 300 && image.height == 200)
        #expect(try image.average() == 0)
        let grey =
            PNGFile.signature + PNGFile.header(width: 16, height: 16, bitDepth: 8, colorType: 0)
            + PNGFile.chunk("IDAT", Deflate.repeating(0x80, count: 17 * 16)) + PNGFile.chunk("IEND", [])
        // Filter byte 0x80 is invalid, so a stream of 0x80 is corrupt: proof the decoder reads our bytes.
        #expect(throws: VipsError.self) {
            try VipsImage.load(VipsInput(bytes: grey, format: .png), access: .random).average()
        }
    }

    @Test func imagesReadTheInputInPlaceAndOutliveIt() throws {
        let original = try Fixtures.jpeg(VipsImage.solid(width: 600, height: 400, color: [230, 230, 230]))
        var bytes = original
        var image: VipsImage? = try VipsImage.load(VipsInput(bytes: bytes, format: .jpeg), shrink: 2)
            .resized(horizontalScale: 0.5, verticalScale: 0.5, kernel: .lanczos3)
        #expect(BorrowedBytes.holds(original), "no copy: libvips reads the array's storage")
        // The input is gone and the caller writes over its array: the image still decodes the original.
        for index in bytes.indices { bytes[index] = 0 }
        #expect(try image.map { try $0.average() } ?? 0 > 220)
        image = nil
        #expect(!BorrowedBytes.holds(original), "released with the last image")
    }

    @Test func headerIsReadWithoutDecoding() throws {
        let bytes = try Fixtures.jpeg(Fixtures.upright(width: 640, height: 480))
        let image = try VipsImage.load(VipsInput(bytes: bytes, format: .jpeg))
        #expect(image.width == 640 && image.height == 480 && image.bands == 3)
        #expect(image.orientation == 1)
    }

    @Test(arguments: [2, 4, 8])
    func jpegShrinkOnLoadDecodesSmaller(shrink: Int) throws {
        let bytes = try Fixtures.jpeg(Fixtures.upright(width: 1600, height: 1200))
        let image = try VipsImage.load(VipsInput(bytes: bytes, format: .jpeg), shrink: shrink)
        #expect(image.width == 1600 / shrink && image.height == 1200 / shrink)
    }

    @Test func webpShrinkOnLoadDecodesSmaller() throws {
        let bytes = try Fixtures.upright(width: 1600, height: 1200).webpData(quality: 80)
        let image = try VipsImage.load(VipsInput(bytes: bytes, format: .webp), shrink: 4)
        #expect(image.width == 400 && image.height == 300)
    }

    @Test func decodeErrorsAreClassified() throws {
        let bytes = Fixtures.truncated(try Fixtures.jpeg(Fixtures.photo(width: 800, height: 600)), keeping: 0.5)
        let image = try VipsImage.load(VipsInput(bytes: bytes, format: .jpeg))
        let error = #expect(throws: VipsError.self) { _ = try image.pngData() }
        #expect(error?.kind == .decode)
    }

    @Test func deadlineKillsEvaluation() throws {
        let image = try VipsImage.noise(width: 6000, height: 6000)
        image.setDeadline(microseconds: 1)
        let error = #expect(throws: VipsError.self) { _ = try image.jpegData(quality: 80) }
        #expect(error?.kind == .killed)
    }

    @Test func classificationTable() {
        #expect(VipsError(operation: "x", detail: "VipsImage: killed for image \"a\"").kind == .killed)
        #expect(VipsError(operation: "x", detail: "VipsJpeg: Premature end of JPEG file").kind == .decode)
        #expect(VipsError(operation: "x", detail: "vips_tracked_malloc: out of memory").kind == .outOfMemory)
        #expect(VipsError(operation: "x", detail: "something else entirely").kind == .other)
    }
}
