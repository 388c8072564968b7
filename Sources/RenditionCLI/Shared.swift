import ArgumentParser
import Foundation
import RenditionCatalog
import RenditionCore

/// Options every command that reads presets shares.
struct PipelineOptions: ParsableArguments {
    @Option(name: .long, help: "Folder of pipeline files.")
    var pipelines: String = "pipelines"

    /// The plan for `preset`: a preset name in `--pipelines`, or a path to a `.yaml` file.
    func plan(_ preset: String) throws -> PipelinePlan {
        let path: String
        if PipelineLibrary.extensions.contains(URL(fileURLWithPath: preset).pathExtension) {
            path = preset
        } else {
            let candidates = PipelineLibrary.extensions.sorted().map { "\(pipelines)/\(preset).\($0)" }
            guard let found = candidates.first(where: FileManager.default.fileExists) else {
                let known = PipelineLibrary.load([pipelines]).plans.keys.sorted()
                let hint =
                    known.isEmpty
                    ? "no presets found in \(pipelines)/" : "known presets: \(known.joined(separator: ", "))"
                throw CLIError("unknown preset \"\(preset)\"; \(hint)")
            }
            path = found
        }
        switch PipelineLibrary.planFile(at: path) {
        case .success(let plan): return plan
        case .failure(let problems): throw CLIError(problems.description)
        }
    }
}

/// A failure the CLI reports as one message on standard error, exiting with status 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Standard error, for messages that are not the command's output.
enum Console {
    static func error(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    static var stderrIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }
}

/// Reads a whole file as bytes.
func readBytes(_ path: String) throws -> [UInt8] {
    do {
        // Copied through a raw buffer: `[UInt8](data)` walks the bytes one by one (3 ms per MB, `make bench`).
        return try Data(contentsOf: URL(fileURLWithPath: path)).withUnsafeBytes { [UInt8]($0) }
    } catch {
        throw CLIError("\(path): cannot read: \(error.localizedDescription)")
    }
}

/// Writes bytes atomically, creating parent folders.
func writeBytes(_ bytes: [UInt8], to path: String) throws {
    let url = URL(fileURLWithPath: path)
    do {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: url, options: .atomic)
    } catch {
        throw CLIError("\(path): cannot write: \(error.localizedDescription)")
    }
}

extension RenditionError {
    /// `code: message` for the terminal.
    var line: String { "\(code): \(message)" }
}

func formatBytes(_ count: Int) -> String {
    if count < 10_000 { return "\(count) B" }
    if count < 10_000_000 { return String(format: "%.1f kB", Double(count) / 1_000) }
    return String(format: "%.1f MB", Double(count) / 1_000_000)
}

func formatMilliseconds(_ value: Double) -> String {
    String(format: "%.1f ms", value)
}
