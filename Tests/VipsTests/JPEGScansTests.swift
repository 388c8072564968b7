import TestSupport
import Testing
import Vips

/// The scan rewriter must change libjpeg's work, never its pixels, and leave anything it does not fully
/// understand to libjpeg as it is.
@Suite struct JPEGScansTests {

    /// Baselines of every sampling a real encoder writes: 4:2:0, 4:4:4, 4:2:2, and greyscale.
    static func baseline(_ sampling: String) throws -> [UInt8] {
        // An odd size, so blocks at the right and bottom edges are partial.
        let photo = try Fixtures.photo(width: 1003, height: 701)
        switch sampling {
        case "4:2:0": return try photo.jpegData(quality: 85, subsampling: .on)
        case "4:4:4": return try photo.jpegData(quality: 85, subsampling: .off)
        case "grey": return try photo.colourspace(.bw).jpegData(quality: 85)
        default: return try ProgressiveJPEG.cjpeg(photo, sampling: "2x1")
        }
    }

    /// Every pixel of `bytes` decoded at 1/8, as the planner's shrink-on-load asks.
    static func eighth(_ bytes: [UInt8]) throws -> [UInt8] {
        try VipsImage.load(VipsInput(bytes: bytes, format: .jpeg), shrink: 8).pixelBytes()
    }

    @Test(
        arguments: ["4:2:0", "4:4:4", "4:2:2", "grey"], [ProgressiveJPEG.libjpegDefault, ProgressiveJPEG.mozjpegStyle])
    func decodesTheSamePixelsAsTheWholeFile(sampling: String, script: String?) throws {
        // mozjpeg's script names three components; a greyscale file has one.
        let script = sampling == "grey" ? nil : script
        let progressive = try ProgressiveJPEG.jpegtran(try Self.baseline(sampling), script: script)
        let skipped = try #require(JPEGScans.skippingUnreadACScans(in: progressive))
        #expect(skipped.count < progressive.count * 3 / 4)
        #expect(try Self.eighth(skipped) == Self.eighth(progressive))
    }

    @Test func ninetyNineScans() throws {
        let progressive = try ProgressiveJPEG.jpegtran(
            try Self.baseline("grey"), script: ProgressiveJPEG.ninetyNineScans)
        #expect(ProgressiveJPEG.markers(progressive).count { $0.marker == 0xDA } == 99)
        let skipped = try #require(JPEGScans.skippingUnreadACScans(in: progressive))
        #expect(try Self.eighth(skipped) == Self.eighth(progressive))
    }

    /// No encoder here writes more than 100 scans, so this file grows them: four DC passes from jpegtran of
    /// a flat-block image (no AC energy), then each AC coefficient alone in a first pass and three
    /// refinements, all end-of-band runs — 256 scans libjpeg decodes.
    @Test func twoHundredFiftySixScans() throws {
        let flat = try Fixtures.photo(width: 1003, height: 701).colourspace(.bw).resized(
            horizontalScale: 1.0 / 8, verticalScale: 1.0 / 8, kernel: .linear
        ).resized(horizontalScale: 8, verticalScale: 8, kernel: .nearest)
        let dcOnly = try ProgressiveJPEG.jpegtran(try flat.jpegData(quality: 100), script: ProgressiveJPEG.successiveDC)
        let acScan = try #require(ProgressiveJPEG.acScans(dcOnly).first)
        let frame = try #require(ProgressiveJPEG.markers(dcOnly).first { $0.marker == 0xC2 }).offset
        let (width, height) = (
            Int(dcOnly[frame + 7]) << 8 | Int(dcOnly[frame + 8]), Int(dcOnly[frame + 5]) << 8 | Int(dcOnly[frame + 6])
        )
        let blocks = ((width + 7) / 8) * ((height + 7) / 8)
        var grown = Array(dcOnly[..<acScan]) + JPEGScans.emptyRunTable(id: 0)
        for coefficient in 1...63 {
            for (high, low) in [(0, 3), (3, 2), (2, 1), (1, 0)] {
                grown += [0xFF, 0xDA, 0, 8, 1, 1, 0x00, UInt8(coefficient), UInt8(coefficient), UInt8(high << 4 | low)]
                grown += JPEGScans.emptyBand(blocks: blocks)
            }
        }
        grown += [0xFF, 0xD9]
        #expect(ProgressiveJPEG.markers(grown).count { $0.marker == 0xDA } == 256)
        let skipped = try #require(JPEGScans.skippingUnreadACScans(in: grown))
        #expect(try Self.eighth(skipped) == Self.eighth(grown))
        #expect(try Self.eighth(grown) == Self.eighth(dcOnly))
    }

    /// 4:2:0 chroma is computed through a 2×2 IDCT at 1/8, which reads AC coefficients: its scans stay
    /// unless the output needs no more chroma than the DC coefficients hold (one sample per 16 pixels).
    @Test func keepsSubsampledChromaUnlessTheOutputNeedsLess() throws {
        let progressive = try ProgressiveJPEG.jpegtran(try Self.baseline("4:2:0"), script: ProgressiveJPEG.mozjpegStyle)
        let lumaOnly = try #require(JPEGScans.skippingUnreadACScans(in: progressive))
        #expect(JPEGScans.skippingUnreadACScans(in: progressive, chromaDensity: 1.0 / 15) == lumaOnly)
        let withChroma = try #require(JPEGScans.skippingUnreadACScans(in: progressive, chromaDensity: 1.0 / 16))
        #expect(withChroma.count < lumaOnly.count)
        let (whole, flat) = (try Self.eighth(progressive), try Self.eighth(withChroma))
        #expect(whole != flat)
        let meanDifference = zip(whole, flat).reduce(0) { $0 + abs(Int($1.0) - Int($1.1)) } / whole.count
        #expect(meanDifference <= 2)
    }

    /// 4:2:2 chroma is upsampled after a 1×1 IDCT at 1/8 (libjpeg only scales the IDCT when that replaces
    /// upsampling in both axes), so its AC scans are never read either.
    @Test func emptiesHorizontallySubsampledChroma() throws {
        let progressive = try ProgressiveJPEG.jpegtran(try Self.baseline("4:2:2"), script: ProgressiveJPEG.mozjpegStyle)
        let skipped = try #require(JPEGScans.skippingUnreadACScans(in: progressive))
        let acScans = ProgressiveJPEG.acScans(progressive).count
        #expect(acScans == 6)
        // Every AC scan's data is now a few bytes of end-of-band runs.
        #expect(skipped.count < progressive.count / 3)
        #expect(try Self.eighth(skipped) == Self.eighth(progressive))
    }

    @Test(arguments: [
        ("baseline", [String]?.none), ("restart interval", ["-restart", "1"]), ("arithmetic coding", ["-arithmetic"]),
    ])
    func leavesWhatItDoesNotHandle(kind: String, jpegtran extra: [String]?) throws {
        let baseline = try Self.baseline("4:2:0")
        let file = try extra.map { try ProgressiveJPEG.jpegtran(baseline, extra: $0) } ?? baseline
        #expect(JPEGScans.skippingUnreadACScans(in: file, chromaDensity: 1) == nil, "\(kind)")
    }

    /// Hostile edits of a progressive file: each is left whole to libjpeg, which answers as it would have.
    @Test(arguments: HostileScans.allCases)
    func fallsBackOnHostileScans(_ edit: HostileScans) throws {
        let progressive = try ProgressiveJPEG.jpegtran(try Self.baseline("4:2:0"))
        let hostile = edit.apply(to: progressive)
        #expect(hostile != progressive)
        #expect(JPEGScans.skippingUnreadACScans(in: hostile, chromaDensity: 1) == nil)
    }

    /// A progression that stops before every coefficient is refined (its last scan gone, EOI kept) is valid,
    /// and libjpeg turns block smoothing on for it, which reads the coefficients it has: such a file is left
    /// whole rather than relying on smoothing never reaching a 1/8 decode's pixels.
    @Test func leavesAnIncompleteProgressionWhole() throws {
        let progressive = try ProgressiveJPEG.jpegtran(try Self.baseline("4:2:0"))
        let lastScan = try #require(ProgressiveJPEG.markers(progressive).last { $0.marker == 0xDA }).offset
        let incomplete = Array(progressive[..<lastScan]) + [0xFF, 0xD9]
        #expect(JPEGScans.skippingUnreadACScans(in: incomplete) == nil)
        #expect(JPEGScans.skippingUnreadACScans(in: progressive) != nil)
    }

    /// A frame whose size claims the most blocks a JPEG can: the rewrite covers them in bounded work, and
    /// the decode refuses the file as it refuses the whole one.
    @Test func largestFrameStaysBounded() throws {
        let progressive = try ProgressiveJPEG.jpegtran(try Self.baseline("grey"))
        let huge = HostileScans.frameSize(progressive, width: 0xFFFF, height: 0xFFFF)
        let skipped = try #require(JPEGScans.skippingUnreadACScans(in: huge))
        // 8192 × 8192 blocks in end-of-band runs of at most 32,767: 2,049 codes of 18 bits per AC scan.
        #expect(skipped.count < huge.count + 3 * 5_000)
        #expect(throws: VipsError.self) { try Self.eighth(huge) }
        #expect(throws: VipsError.self) { try Self.eighth(skipped) }
    }

    @Test func endOfBandRunsCoverEveryBlock() {
        // EOB14 and 14 one bits (32,767 blocks), then EOB0 (the last block): 22 bits, padded with ones.
        #expect(JPEGScans.emptyBand(blocks: 32768) == [0xEF, 0xFF, 0x00, 0xC3])
        #expect(JPEGScans.emptyBand(blocks: 1) == [0x0F])
        #expect(JPEGScans.emptyBand(blocks: 0) == [])
    }
}
