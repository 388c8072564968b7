#if canImport(Glibc)
    internal import Glibc
#endif

/// Rewrites a progressive JPEG's scans so that a decode at 1/8 scale skips the AC data it never reads.
///
/// At 1/8 scale libjpeg computes every block of a component it does not upsample in the DCT domain from the
/// DC coefficient alone (a 1×1 IDCT), yet it entropy-decodes every AC scan first: a progressive 5120×2880
/// photo costs about four times its baseline twin. Each such component's AC scans are replaced here by empty
/// scans of the same spectral band and successive-approximation bits (end-of-band runs over every block,
/// under a Huffman table of those runs alone), so libjpeg knows every coefficient as it would after the
/// whole file — block smoothing stays off, which dropping the scans would turn on — and the decode is the
/// same, pixel for pixel, at a fraction of the work.
///
/// Anything this does not fully understand is left to libjpeg as it is: baseline and arithmetic-coded
/// files, restart intervals (an end-of-band run may not cross one), interleaved AC scans, an unusual scan
/// progression, and any segment or scan that does not parse. A damaged file then fails in the decoder
/// exactly as it would have.
public enum JPEGScans {
    /// The bytes of the progressive JPEG `bytes` with the AC scans a 1/8-scale decode does not read
    /// replaced by empty ones, or `nil` when there is nothing to skip or the file is not one this handles.
    ///
    /// - Parameter chromaDensity: samples per original pixel, in each axis, that the output needs of a
    ///   component libjpeg would compute through a larger IDCT (the subsampled chroma of 4:2:0). Such a
    ///   component's AC scans are emptied too when its DC coefficients alone give at least that many (one
    ///   per 8 × its subsampling factor original pixels); `nil` keeps them.
    public static func skippingUnreadACScans(in bytes: [UInt8], chromaDensity: Double? = nil) -> [UInt8]? {
        guard let file = File(parsing: bytes) else { return nil }
        let emptied = Set(
            file.frame.components.indices.filter { index in
                let component = file.frame.components[index]
                let scaled = file.frame.eighthScaleIDCTSize(of: component)
                if scaled == 1 { return true }
                guard let chromaDensity else { return false }
                let horizontal = Double(component.horizontal) / Double(file.frame.maxHorizontal * 8)
                let vertical = Double(component.vertical) / Double(file.frame.maxVertical * 8)
                return min(horizontal, vertical) >= chromaDensity
            })
        let replaced = file.scans.indices.filter {
            file.scans[$0].isAC && emptied.contains(file.scans[$0].components[0])
        }
        guard !replaced.isEmpty else { return nil }
        let keptTables = Set(
            file.scans.indices.filter { file.scans[$0].isAC && !replaced.contains($0) }
                .map { file.scans[$0].acTables[0] })
        guard let table = (0..<4).first(where: { !keptTables.contains($0) }) else { return nil }

        var output: [UInt8] = []
        output.reserveCapacity(bytes.count / 2)
        var copiedUpTo = 0
        for index in replaced {
            let scan = file.scans[index]
            output += bytes[copiedUpTo..<scan.header.lowerBound]
            output += emptyRunTable(id: table)
            output += scan.headerBytes(bytes, acTable: table)
            output += emptyBand(blocks: file.frame.blockCount(of: file.frame.components[scan.components[0]]))
            copiedUpTo = scan.data.upperBound
        }
        output += bytes[copiedUpTo...]
        return output
    }

    /// The longest run one end-of-band code can carry (EOB14 with 14 extra bits).
    static let longestRun = 32767

    /// A DHT segment defining AC table `id` with the fifteen end-of-band-run symbols EOB0…EOB14, each a
    /// 4-bit code: EOBn is code n.
    package static func emptyRunTable(id: Int) -> [UInt8] {
        var counts = [UInt8](repeating: 0, count: 16)
        counts[3] = 15
        let symbols = (0..<15).map { UInt8($0 << 4) }
        let length = 2 + 1 + 16 + symbols.count
        return [0xFF, 0xC4, UInt8(length >> 8), UInt8(length & 0xFF), UInt8(0x10 | id)] + counts + symbols
    }

    /// Entropy-coded data of end-of-band runs covering `blocks` blocks, byte-stuffed and padded with ones.
    package static func emptyBand(blocks: Int) -> [UInt8] {
        var writer = BitWriter()
        var remaining = blocks
        while remaining > 0 {
            let run = min(remaining, longestRun)
            let bits = Int.bitWidth - 1 - run.leadingZeroBitCount
            writer.write(bits, count: 4)
            writer.write(run - (1 << bits), count: bits)
            remaining -= run
        }
        return writer.finished()
    }

    struct BitWriter {
        private var bytes: [UInt8] = []
        private var accumulator = 0
        private var pending = 0

        mutating func write(_ value: Int, count: Int) {
            for shift in stride(from: count - 1, through: 0, by: -1) {
                accumulator = accumulator << 1 | (value >> shift) & 1
                pending += 1
                if pending == 8 { emit() }
            }
        }

        private mutating func emit() {
            bytes.append(UInt8(accumulator))
            if accumulator == 0xFF { bytes.append(0) }
            accumulator = 0
            pending = 0
        }

        mutating func finished() -> [UInt8] {
            if pending > 0 {
                accumulator = accumulator << (8 - pending) | (1 << (8 - pending) - 1)
                emit()
            }
            return bytes
        }
    }

    // MARK: Parsing

    /// The frame header of a progressive, Huffman-coded, 8-bit JPEG.
    package struct Frame {
        package struct Component {
            package let id: UInt8
            let horizontal: Int
            let vertical: Int
        }

        let width: Int
        let height: Int
        package let components: [Component]
        var maxHorizontal: Int { components.map(\.horizontal).max() ?? 1 }
        var maxVertical: Int { components.map(\.vertical).max() ?? 1 }

        /// Blocks a non-interleaved scan of `component` codes: its own size in blocks, not padded to MCUs.
        package func blockCount(of component: Component) -> Int {
            let columns = (width * component.horizontal + maxHorizontal * 8 - 1) / (maxHorizontal * 8)
            let rows = (height * component.vertical + maxVertical * 8 - 1) / (maxVertical * 8)
            return columns * rows
        }

        /// The IDCT size libjpeg-turbo gives `component` at 1/8 scale: 1, doubled while that replaces an
        /// upsampling step in both axes (jdmaster.c). A component at size 1 reads its DC coefficient alone.
        func eighthScaleIDCTSize(of component: Component) -> Int {
            var size = 1
            while size < 8, maxHorizontal % (component.horizontal * size * 2) == 0,
                maxVertical % (component.vertical * size * 2) == 0
            {
                size *= 2
            }
            return size
        }
    }

    package struct Scan {
        /// The SOS segment, marker included.
        let header: Range<Int>
        /// The entropy-coded data after it, up to the next marker.
        package let data: Range<Int>
        /// Frame indices of the scan's components.
        package let components: [Int]
        let acTables: [Int]
        package let spectralStart: Int
        package let spectralEnd: Int
        package let high: Int
        package let low: Int

        package var isAC: Bool { spectralStart > 0 }

        /// The SOS segment with every component's AC table set to `acTable`.
        func headerBytes(_ bytes: [UInt8], acTable: Int) -> [UInt8] {
            var segment = Array(bytes[header])
            for index in components.indices {
                let selector = 5 + 2 * index + 1
                segment[selector] = segment[selector] & 0xF0 | UInt8(acTable)
            }
            return segment
        }
    }

    /// A progressive JPEG's frame and scans, after checks that leave every file libjpeg might treat
    /// differently from a clean one (or refuse) to libjpeg itself.
    package struct File {
        package var frame: Frame
        package var scans: [Scan]

        package init?(parsing bytes: [UInt8]) {
            guard bytes.count >= 4, bytes[0] == 0xFF, bytes[1] == 0xD8 else { return nil }
            var frame: Frame?
            var scans: [Scan] = []
            // Per component, per coefficient: the successive-approximation bit the last scan ended at, -1
            // before any (libjpeg's coef_bits).
            var known: [[Int]] = []
            var offset = 2
            while true {
                guard offset + 1 < bytes.count, bytes[offset] == 0xFF else { return nil }
                while offset + 1 < bytes.count, bytes[offset + 1] == 0xFF { offset += 1 }
                guard offset + 1 < bytes.count else { return nil }
                let marker = bytes[offset + 1]
                if marker == 0xD9 { break }
                // SOI again, TEM and restart markers never stand alone between segments of a clean file.
                guard marker != 0xD8, marker != 0x01, !(0xD0...0xD7).contains(marker) else { return nil }
                guard offset + 4 <= bytes.count else { return nil }
                let length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
                let end = offset + 2 + length
                guard length >= 2, end <= bytes.count else { return nil }
                let body = bytes[(offset + 4)..<end]
                switch marker {
                case 0xC2:
                    guard frame == nil, let parsed = Self.frame(body) else { return nil }
                    frame = parsed
                    known = Array(repeating: Array(repeating: -1, count: 64), count: parsed.components.count)
                    offset = end
                case 0xC0, 0xC1, 0xC3, 0xC5...0xCF, 0xDC:
                    // Baseline, lossless, hierarchical, arithmetic coding, DAC, DNL, JPG: not ours.
                    return nil
                case 0xDD:
                    // A restart interval: end-of-band runs may not cross one.
                    guard body.count == 2, body[body.startIndex] == 0, body[body.startIndex + 1] == 0 else {
                        return nil
                    }
                    offset = end
                case 0xDA:
                    guard let frame, let dataEnd = Self.entropyEnd(bytes, from: end),
                        let scan = Self.scan(body, header: offset..<end, data: end..<dataEnd, frame: frame),
                        Self.advance(&known, by: scan)
                    else { return nil }
                    scans.append(scan)
                    offset = dataEnd
                default:
                    offset = end
                }
            }
            // A file that leaves any coefficient unrefined makes libjpeg smooth blocks from the coefficients
            // it has, which emptied scans would change: only complete progressions are rewritten.
            guard let frame, !scans.isEmpty, known.allSatisfy({ $0.allSatisfy { $0 == 0 } }) else { return nil }
            self.frame = frame
            self.scans = scans
        }

        static func frame(_ body: ArraySlice<UInt8>) -> Frame? {
            let body = Array(body)
            guard body.count >= 6, body[0] == 8 else { return nil }
            let height = Int(body[1]) << 8 | Int(body[2])
            let width = Int(body[3]) << 8 | Int(body[4])
            let count = Int(body[5])
            guard width > 0, height > 0, (1...4).contains(count), body.count == 6 + 3 * count else { return nil }
            var components: [Frame.Component] = []
            for index in 0..<count {
                let id = body[6 + 3 * index]
                let horizontal = Int(body[7 + 3 * index] >> 4)
                let vertical = Int(body[7 + 3 * index] & 0x0F)
                guard (1...4).contains(horizontal), (1...4).contains(vertical),
                    !components.contains(where: { $0.id == id })
                else { return nil }
                components.append(.init(id: id, horizontal: horizontal, vertical: vertical))
            }
            return Frame(width: width, height: height, components: components)
        }

        static func scan(_ body: ArraySlice<UInt8>, header: Range<Int>, data: Range<Int>, frame: Frame) -> Scan? {
            let body = Array(body)
            guard let count = body.first.map(Int.init), (1...4).contains(count), body.count == 1 + 2 * count + 3
            else { return nil }
            var components: [Int] = []
            var acTables: [Int] = []
            for index in 0..<count {
                guard let component = frame.components.firstIndex(where: { $0.id == body[1 + 2 * index] }),
                    !components.contains(component)
                else { return nil }
                components.append(component)
                acTables.append(Int(body[2 + 2 * index] & 0x0F))
            }
            let start = Int(body[1 + 2 * count])
            let end = Int(body[2 + 2 * count])
            let high = Int(body[3 + 2 * count] >> 4)
            let low = Int(body[3 + 2 * count] & 0x0F)
            // The checks of libjpeg's start_pass_phuff_decoder: anything it would complain about stays its own.
            if start == 0 {
                guard end == 0 else { return nil }
            } else {
                guard end >= start, end <= 63, count == 1 else { return nil }
            }
            guard high == 0 || low == high - 1, low <= 13 else { return nil }
            return Scan(
                header: header, data: data, components: components, acTables: acTables, spectralStart: start,
                spectralEnd: end, high: high, low: low)
        }

        /// Records what `scan` makes known; `false` for a progression libjpeg would warn about: an AC scan
        /// before its component's DC, a first pass repeated, a refinement before its first pass or out of order.
        static func advance(_ known: inout [[Int]], by scan: Scan) -> Bool {
            for component in scan.components {
                if scan.isAC, known[component][0] < 0 { return false }
                for coefficient in scan.spectralStart...scan.spectralEnd {
                    let expected = max(0, known[component][coefficient])
                    if known[component][coefficient] >= 0, scan.high == 0 { return false }
                    guard scan.high == expected else { return false }
                    known[component][coefficient] = scan.low
                }
            }
            return true
        }

        /// Where the entropy-coded data starting at `start` ends: the first marker other than a stuffed
        /// zero; `nil` at the end of the bytes (truncated) or at a restart marker (none was declared).
        static func entropyEnd(_ bytes: [UInt8], from start: Int) -> Int? {
            bytes.withUnsafeBufferPointer { buffer -> Int? in
                guard let base = buffer.baseAddress else { return nil }
                var index = start
                // memchr finds the next 0xFF a vector at a time: entropy data is most of a file.
                while index + 1 < buffer.count,
                    let found = memchr(base + index, 0xFF, buffer.count - index - 1)
                {
                    index = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
                    let next = buffer[index + 1]
                    if next == 0x00 {
                        index += 2
                        continue
                    }
                    return (0xD0...0xD7).contains(next) ? nil : index
                }
                return nil
            }
        }
    }
}
