import Foundation
public import Vips

/// Progressive JPEGs written by Debian's libjpeg-turbo tools (`jpegtran`, `cjpeg`), with the scan scripts
/// real encoders use, and the byte-level surgery the scan rewriter's hostile cases need.
public enum ProgressiveJPEG {
    /// libjpeg's default progressive script (`jpegtran -progressive`).
    public static let libjpegDefault: String? = nil

    /// mozjpeg's script for YCbCr: one DC scan per component, luma's AC split at 8, chroma in one pass each.
    public static let mozjpegStyle = """
        0: 0 0 0 0;
        1: 0 0 0 0;
        2: 0 0 0 0;
        0: 1 8 0 2;
        1: 1 63 0 0;
        2: 1 63 0 0;
        0: 9 63 0 2;
        0: 1 63 2 1;
        0: 1 63 1 0;
        """

    /// 99 scans on one component (jpegtran reads at most 100): DC, then coefficients 1–49 alone, each in a
    /// first pass and a refinement, then 50–63 together.
    public static let ninetyNineScans: String = {
        let single = (1...48).flatMap { ["0: \($0) \($0) 0 1;", "0: \($0) \($0) 1 0;"] }
        return (["0: 0 0 0 0;"] + single + ["0: 49 63 0 1;", "0: 49 63 1 0;"]).joined(separator: "\n")
    }()

    /// Four DC scans (first pass and three refinements) and one AC scan, for a file to grow more scans onto.
    public static let successiveDC = "0: 0 0 0 3;\n0: 0 0 3 2;\n0: 0 0 2 1;\n0: 0 0 1 0;\n0: 1 63 0 0;"

    /// `baseline` rewritten progressive by `jpegtran`, with `script` (a `-scans` file's text) or libjpeg's
    /// default one; `extra` are further jpegtran arguments (`-restart 1`, `-arithmetic`).
    public static func jpegtran(_ baseline: [UInt8], script: String? = libjpegDefault, extra: [String] = [])
        throws -> [UInt8]
    {
        try withFolder { folder in
            let input = folder.appendingPathComponent("in.jpg")
            let output = folder.appendingPathComponent("out.jpg")
            try Data(baseline).write(to: input)
            var arguments = ["jpegtran", "-copy", "none"]
            if let script {
                let scans = folder.appendingPathComponent("scans.txt")
                try script.write(to: scans, atomically: true, encoding: .utf8)
                arguments += ["-scans", scans.path]
            } else {
                arguments.append("-progressive")
            }
            try run(arguments + extra + ["-outfile", output.path, input.path])
            return Array(try Data(contentsOf: output))
        }
    }

    /// `image` as a baseline JPEG from `cjpeg` with chroma sampled `sampling` (such as `2x1` for 4:2:2).
    public static func cjpeg(_ image: VipsImage, sampling: String, quality: Int = 85) throws -> [UInt8] {
        try withFolder { folder in
            let ppm = folder.appendingPathComponent("in.ppm")
            let output = folder.appendingPathComponent("out.jpg")
            _ = try VipsOperation.call("ppmsave", ["in": .image(image), "filename": .string(ppm.path)])
            try run(["cjpeg", "-quality", "\(quality)", "-sample", sampling, "-outfile", output.path, ppm.path])
            return Array(try Data(contentsOf: output))
        }
    }

    /// The offsets of every marker between segments (the `0xFF` of each), in order, up to EOI.
    public static func markers(_ bytes: [UInt8]) -> [(marker: UInt8, offset: Int)] {
        var found: [(UInt8, Int)] = [(0xD8, 0)]
        var offset = 2
        while offset + 3 < bytes.count, bytes[offset] == 0xFF {
            let marker = bytes[offset + 1]
            found.append((marker, offset))
            if marker == 0xD9 { break }
            var next = offset + 2 + (Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3]))
            if marker == 0xDA {
                while next + 1 < bytes.count,
                    !(bytes[next] == 0xFF && bytes[next + 1] != 0 && !(0xD0...0xD7).contains(bytes[next + 1]))
                {
                    next += 1
                }
            }
            offset = next
        }
        return found
    }

    /// The offsets of the SOS segments of `bytes`' AC scans (spectral start above zero).
    public static func acScans(_ bytes: [UInt8]) -> [Int] {
        markers(bytes).filter { $0.marker == 0xDA }.map(\.offset).filter { offset in
            let count = Int(bytes[offset + 4])
            return bytes[offset + 5 + 2 * count] > 0
        }
    }

    private static func withFolder<T>(_ body: (URL) throws -> T) throws -> T {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "rendition-jpeg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        return try body(folder)
    }

    private static func run(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        do {
            try process.run()
        } catch {
            throw FixtureError("\(arguments[0]) did not start (install Debian's libjpeg-turbo-progs): \(error)")
        }
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw FixtureError("\(arguments[0]) failed (install Debian's libjpeg-turbo-progs): \(message)")
        }
    }
}

/// Edits that make a progressive JPEG one the rewriter must not touch.
public enum HostileScans: String, CaseIterable, Sendable {
    case truncatedScan, markerInEntropyData, restartMarkerInEntropyData, sosLengthPastTheEnd, noScans,
        refinementBeforeFirstPass, componentNotInFrame, acBeforeDC, interleavedACScan

    /// `bytes`, a progressive JPEG with at least three AC scans, edited this way.
    public func apply(to bytes: [UInt8]) -> [UInt8] {
        let markers = ProgressiveJPEG.markers(bytes)
        let scans = markers.filter { $0.marker == 0xDA }.map(\.offset)
        let ac = ProgressiveJPEG.acScans(bytes)
        var edited = bytes
        switch self {
        case .truncatedScan:
            return Array(bytes[..<(ac[2] + 40)])
        case .markerInEntropyData:
            edited.insert(contentsOf: [0xFF, 0xD8], at: ac[0] + 30)
        case .restartMarkerInEntropyData:
            edited.insert(contentsOf: [0xFF, 0xD3], at: ac[0] + 30)
        case .sosLengthPastTheEnd:
            edited[scans.last! + 2] = 0xFF
            edited[scans.last! + 3] = 0xFF
            return Array(edited[..<(scans.last! + 64)])
        case .noScans:
            return Array(bytes[..<scans[0]]) + [0xFF, 0xD9]
        case .refinementBeforeFirstPass:
            // The first AC scan claims to refine bit 3 (Ah 3, Al 2) of coefficients never sent.
            let count = Int(bytes[ac[0] + 4])
            edited[ac[0] + 7 + 2 * count] = 0x32
        case .componentNotInFrame:
            edited[ac[0] + 5] = 0x99
        case .acBeforeDC:
            // Swap the first DC scan out: the AC scans now come before any DC coefficient.
            let firstScanEnd = scans[1]
            return Array(bytes[..<scans[0]]) + Array(bytes[firstScanEnd...])
        case .interleavedACScan:
            // One AC scan naming two components (the SOS grows by a component selector).
            let offset = ac[0]
            let count = Int(bytes[offset + 4])
            let length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            edited[offset + 3] = UInt8(length + 2)
            edited[offset + 4] = UInt8(count + 1)
            let other: UInt8 = bytes[offset + 5] == 1 ? 2 : 1
            edited.insert(contentsOf: [other, 0x11], at: offset + 5 + 2 * count)
        }
        return edited
    }

    /// `bytes` with the frame header's size set to `width`×`height`.
    public static func frameSize(_ bytes: [UInt8], width: Int, height: Int) -> [UInt8] {
        var edited = bytes
        let frame = ProgressiveJPEG.markers(bytes).first { $0.marker == 0xC2 }!.offset
        edited[frame + 5] = UInt8(height >> 8)
        edited[frame + 6] = UInt8(height & 0xFF)
        edited[frame + 7] = UInt8(width >> 8)
        edited[frame + 8] = UInt8(width & 0xFF)
        return edited
    }
}
