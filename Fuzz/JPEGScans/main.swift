import FuzzDriver
import Vips

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
        for (before, after) in zip(original.scans, file.scans) {
            precondition(
                (before.components, before.spectralStart, before.spectralEnd, before.high, before.low)
                    == (after.components, after.spectralStart, after.spectralEnd, after.high, after.low),
                "same progression")
            let data = Array(rewritten[after.data])
            if data != Array(bytes[before.data]) {
                let blocks = file.frame.blockCount(of: file.frame.components[after.components[0]])
                precondition(after.isAC && data == JPEGScans.emptyBand(blocks: blocks), "only AC scans emptied")
            }
        }
        // Each AC scan can gain one table and the end-of-band runs over its blocks (up to 4.6 kB for the
        // largest frame), whatever its own data was.
        let growth = original.scans.filter(\.isAC).map { scan in
            let blocks = original.frame.blockCount(of: original.frame.components[scan.components[0]])
            return JPEGScans.emptyRunTable(id: 0).count + JPEGScans.emptyBand(blocks: blocks).count
        }
        precondition(rewritten.count <= bytes.count + growth.reduce(0, +), "bounded output")
    }
}

FuzzEntry.run(check)
