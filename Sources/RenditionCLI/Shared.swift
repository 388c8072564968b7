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
    // Read straight into the array: `Data(contentsOf:)` and the copy out of it cost 2.7 ms per MB of CPU,
    // plain reads 1 (`rendition plan --input`'s read phase).
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    var status = stat()
    guard descriptor >= 0, fstat(descriptor, &status) == 0 else {
        let message = String(cString: strerror(errno))
        if descriptor >= 0 { close(descriptor) }
        throw CLIError("\(path): cannot read: \(message)")
    }
    defer { close(descriptor) }
    let size = Int(status.st_size)
    var failure: Int32 = 0
    let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
        count = 0
        while count < size {
            let result = read(descriptor, buffer.baseAddress! + count, size - count)
            if result < 0 && errno == EINTR { continue }
            if result <= 0 {
                failure = result < 0 ? errno : 0
                return
            }
            count += result
        }
    }
    guard failure == 0, bytes.count == size else {
        throw CLIError(
            "\(path): cannot read: \(failure == 0 ? "the file changed while it was read" : String(cString: strerror(failure)))"
        )
    }
    return bytes
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
