import FuzzDriver

@testable import Vips

/// libFuzzer target: arbitrary bytes through the progressive JPEG scan rewriter, with and without chroma.
/// It must never trap, and whatever it returns must be a file it parses again with the same frame and scans,
/// every replaced scan holding exactly the end-of-band runs over its component's blocks.
func check(_ bytes: [UInt8]) {
    guard let original = JPEGScans.File(parsing: bytes) else {
        precondition(JPEGScans.skippingUnreadACScans(in: bytes, chromaDensity: 1) == nil, "unparsed input rewritten")
        return
    }
    for density in [nil, 1.0 / 16] {
        guard let rewritten = JPEGScans.skippingUnreadACScans(in: bytes, chromaDensity: density) else { continue }
        guard let file = JPEGScans.File(parsing: rewritten) else { preconditionFailure("output does not parse") }
        precondition(file.frame.components.map(\.id) == original.frame.components.map(\.id), "same frame")
        precondition(file.scans.count == original.scans.count, "same number of scans")
        var replaced = 0
        for (before, after) in zip(original.scans, file.scans) {
            precondition(
                (before.components, before.spectralStart, before.spectralEnd, before.high, before.low)
                    == (after.components, after.spectralStart, after.spectralEnd, after.high, after.low),
                "same progression")
            let data = Array(rewritten[after.data])
            if data != Array(bytes[before.data]) {
                let blocks = file.frame.blockCount(of: file.frame.components[after.components[0]])
                precondition(after.isAC && data == JPEGScans.emptyBand(blocks: blocks), "only AC scans emptied")
                replaced += 1
            }
        }
        precondition(rewritten.count <= bytes.count + replaced * 64, "bounded output")
    }
}

FuzzEntry.run(check)
