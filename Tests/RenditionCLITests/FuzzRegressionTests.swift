import Foundation
import TestSupport
import Testing

/// The fuzz targets, built as replayers, run over their regression corpus (inputs that once crashed, kept
/// in `Fuzz/regressions/`) and their seeds: each input must pass the target's checks.
@Suite struct FuzzRegressionTests {
    @Test(arguments: [
        ("FuzzPipeline", ["Fuzz/regressions/pipeline", "pipelines"]),
        ("FuzzRequestPath", ["Fuzz/regressions/request-path", "Fuzz/seeds/request-path"]),
        ("FuzzJPEGScans", ["Fuzz/regressions/jpeg-scans"]),
    ])
    func regressionCorpusPasses(target: String, folders: [String]) throws {
        let binary = CLI.binary.deletingLastPathComponent().appendingPathComponent(target)
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "build \(target) first")
        let process = Process()
        process.executableURL = binary
        process.arguments = folders.map { Repository.root().appendingPathComponent($0).path }
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(target): \(output)")
        #expect(output.hasPrefix("replayed "), "\(output)")
        #expect(!output.hasPrefix("replayed 0 "), "the corpus is not empty")
    }
}
