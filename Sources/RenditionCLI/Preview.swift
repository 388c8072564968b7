import ArgumentParser
import Foundation
import RenditionCatalog
import RenditionCore
import RenditionPreview

struct Preview: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Render presets on sample originals into a static HTML report (the preset studio).",
        discussion: """
            Writes OUT/index.html and the renditions beside it: one row per original, one column per preset, \
            each rendition with its format, size, bytes, share of the original's bytes, render time, and a \
            warning badge when a limit or an `enlarge: false` clamp applied. The folder is self-contained \
            (no script, no external asset) and can be opened offline or kept as a CI artifact.

            A preset with size variants or several candidate formats (format: auto) is shown in every form it \
            declares: each size (@{W}w, @{D}x) in each candidate format, with its bytes and, for a negotiating \
            preset, its share of the fallback format's bytes at the same size (what AVIF buys over WebP and JPEG \
            on your originals). --no-forms renders each preset's own form only.

            With --base (a git ref such as origin/main, or a folder of pipeline files), only presets whose plan \
            changed, appeared or disappeared (in any form) are rendered, old and new side by side with the \
            difference in bytes and a perceptual distance (0 = looks the same, 64 = opposite), and each changed \
            form with its difference in bytes, for reviewing a preset change.
            """
    )

    @Argument(help: "Presets to render (default: every preset in --pipelines).")
    var presets: [String] = []

    @OptionGroup var pipelineOptions: PipelineOptions

    @Option(name: .long, help: "Folder of sample originals (searched recursively; hidden files skipped).")
    var originals: String = "data/originals"

    @Option(name: .long, help: "Folder to write the report into (created; earlier renditions replaced).")
    var out: String = "report"

    @Option(
        name: .long,
        help: "Compare with this version of the presets: a git ref (reads --pipelines at that commit) or a folder.")
    var base: String?

    @Option(name: .long, help: "Use at most this many originals, the first by path.")
    var maxOriginals: Int = 50

    @Option(name: .long, help: "Renders at once (default: one per core).")
    var jobs: Int?

    @Flag(
        inversion: .prefixedNo,
        help: "Render every size variant and candidate format of each preset, not only its own form.")
    var forms = true

    func validate() throws {
        if maxOriginals < 1 { throw ValidationError("--max-originals must be at least 1.") }
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1.") }
        if out.isEmpty { throw ValidationError("--out needs a folder name, such as report.") }
        if let base, base.isEmpty || base.hasPrefix("-") {
            throw ValidationError("--base needs a git ref (such as origin/main) or a folder of pipeline files.")
        }
    }

    func run() async throws {
        do {
            try await preview()
        } catch let error as CLIError {
            Console.error(error.description)
            throw ExitCode(1)
        }
    }

    func preview() async throws {
        let current = try load(pipelineOptions.pipelines, label: pipelineOptions.pipelines)
        var selected: [PreviewPreset]
        var problems = current.problems
        if let base {
            let folder = try BaseFolder(base, pipelines: pipelineOptions.pipelines)
            defer { folder.remove() }
            let old = try load(folder.path, label: folder.label)
            // Name base files as the user knows them (origin/main:pipelines/x.yaml), not by the temporary copy.
            problems += old.problems.map { $0.replacingOccurrences(of: folder.path + "/", with: folder.label) }
            selected = PreviewPreset.compare(current: current.plans, base: old.plans)
        } else {
            selected = PreviewPreset.all(current.plans)
        }
        if !presets.isEmpty {
            let known = Set(selected.map(\.name))
            if let unknown = presets.first(where: { !known.contains($0) }) {
                throw CLIError(
                    "unknown preset \"\(unknown)\"; known presets: \(known.sorted().joined(separator: ", "))")
            }
            selected = selected.filter { presets.contains($0.name) }
        }
        for problem in problems { Console.error(problem) }

        let files = try originalFiles()
        let renderer = try Renderer(threads: jobs)
        let outURL = URL(fileURLWithPath: out)
        try prepare(outURL)
        let progress = LockedProgress(enabled: Console.stderrIsTerminal)
        let start = ContinuousClock.now
        let originalsURL = URL(fileURLWithPath: originals)
        var report = try await PreviewBuilder(renderer: renderer).build(
            title: base.map { "Preset changes against \($0)" } ?? "Preset preview",
            presets: selected, sampleCount: files.count, base: base, forms: forms,
            read: { index in
                PreviewSample(
                    name: files[index], bytes: try readBytes(originalsURL.appendingPathComponent(files[index]).path))
            },
            write: { path, bytes in try writeBytes(bytes, to: outURL.appendingPathComponent(path).path) },
            progress: { done, total in progress.update(done, total) })
        progress.finish()
        try await renderer.shutdown()
        report.problems = problems
        let index = outURL.appendingPathComponent("index.html")
        try writeBytes(Array(PreviewPage.html(report).utf8), to: index.path)

        let seconds = (ContinuousClock.now - start).milliseconds / 1_000
        let rendered = report.rows.reduce(0) { $0 + $1.cells.count }
        var line = "wrote \(index.path): \(report.rows.count) originals × \(report.columns.count) presets"
        if base != nil {
            let changed = report.columns.map { "\($0.preset) (\($0.change?.rawValue ?? ""))" }
            line += changed.isEmpty ? ", no preset changed" : ": \(changed.joined(separator: ", "))"
        }
        line += String(
            format: ", %d cells, %d renditions, %d warnings, in %.2f s", rendered, report.renditionCount,
            report.badgeCount, seconds)
        print(line)
    }

    /// Plans every file of a folder; a missing folder is an error, files that do not plan are reported.
    func load(_ folder: String, label: String) throws -> (plans: [String: PipelinePlan], problems: [String]) {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
            throw CLIError("\(label): no such folder of pipeline files")
        }
        let library = PipelineLibrary.load([folder])
        return (library.plans, library.problems.map(\.description))
    }

    /// Regular, non-hidden files under --originals, sorted by path, at most --max-originals.
    func originalFiles() throws -> [String] {
        let root = URL(fileURLWithPath: originals).standardizedFileURL
        var isFolder: ObjCBool = false
        guard
            FileManager.default.fileExists(atPath: root.path, isDirectory: &isFolder), isFolder.boolValue,
            let walker = FileManager.default.enumerator(
                at: root, includingPropertiesForKeys: [.isRegularFileKey], options: [.skipsHiddenFiles])
        else {
            throw CLIError(
                "\(originals): no such folder; give --originals DIR with a few sample images (rendition sample DIR/sample.jpg makes one)"
            )
        }
        let prefix = root.path.hasSuffix("/") ? root.path : root.path + "/"
        var files: [String] = []
        for case let url as URL in walker
        where (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true {
            let path = url.standardizedFileURL.path
            if path.hasPrefix(prefix) { files.append(String(path.dropFirst(prefix.count))) }
        }
        guard !files.isEmpty else {
            throw CLIError(
                "\(originals): no originals; put a few sample images there (rendition sample \(originals)/sample.jpg makes one)"
            )
        }
        let sorted = files.sorted()
        if sorted.count > maxOriginals {
            Console.error("using the first \(maxOriginals) of \(sorted.count) originals (--max-originals)")
        }
        return Array(sorted.prefix(maxOriginals))
    }

    /// Creates the report folder, removing the renditions of an earlier report (and nothing else).
    func prepare(_ folder: URL) throws {
        let manager = FileManager.default
        do {
            try manager.createDirectory(at: folder, withIntermediateDirectories: true)
            for name in try manager.contentsOfDirectory(atPath: folder.path)
            where name == "index.html" || (name.hasPrefix("r") && Int(name.dropFirst()) != nil) {
                try manager.removeItem(at: folder.appendingPathComponent(name))
            }
        } catch {
            throw CLIError("\(folder.path): cannot prepare the report folder: \(error.localizedDescription)")
        }
    }
}

/// The base version of the presets: a folder as given, or the pipelines folder at a git ref, copied into
/// a temporary folder with `git ls-tree` and `git show` (so no work tree is touched).
struct BaseFolder {
    let path: String
    /// How the base's files are named in messages: `base/` for a folder, `ref:pipelines/` for a git ref.
    let label: String
    private let temporary: URL?

    init(_ base: String, pipelines: String) throws {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: base, isDirectory: &isFolder), isFolder.boolValue {
            path = base
            label = base + "/"
            temporary = nil
            return
        }
        guard FileManager.default.fileExists(atPath: pipelines) else {
            throw CLIError("\(pipelines): no such folder of pipeline files")
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "rendition-base-\(UUID().uuidString)")
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw CLIError("cannot create a temporary folder: \(error.localizedDescription)")
        }
        temporary = folder
        path = folder.path
        let listing: String
        do {
            listing = try Self.git(["ls-tree", "--name-only", base, "--", "."], in: pipelines)
        } catch let error as CLIError {
            try? FileManager.default.removeItem(at: folder)
            throw CLIError(
                "--base \(base): not a folder, and git cannot read \(pipelines)/ at that ref (\(error.description)); "
                    + "give a folder of pipeline files or a ref such as origin/main")
        }
        let prefix =
            (try? Self.git(["rev-parse", "--show-prefix"], in: pipelines))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        label = "\(base):\(prefix)"
        do {
            for name in listing.split(separator: "\n").map(String.init)
            where PipelineLibrary.extensions.contains(URL(fileURLWithPath: name).pathExtension) && !name.contains("/") {
                let text = try Self.git(["show", "\(base):./\(name)"], in: pipelines)
                try writeBytes(Array(text.utf8), to: folder.appendingPathComponent(name).path)
            }
        } catch {
            try? FileManager.default.removeItem(at: folder)
            throw error
        }
    }

    func remove() {
        if let temporary { try? FileManager.default.removeItem(at: temporary) }
    }

    /// Runs git in `directory` and returns its standard output, or throws with its standard error.
    static func git(_ arguments: [String], in directory: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git"] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        do {
            try process.run()
        } catch {
            throw CLIError("cannot run git: \(error.localizedDescription); install git or give --base a folder")
        }
        // Read standard error on another thread so neither pipe can fill up and block git.
        let errors = ErrorReader(err.fileHandleForReading)
        let output = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CLIError(errors.text().trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return String(decoding: output, as: UTF8.self)
    }
}

/// Drains a pipe on a background thread.
final class ErrorReader: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }
    }

    func text() -> String {
        done.wait()
        return String(decoding: data, as: UTF8.self)
    }
}

/// ``Progress`` behind a lock, for updates from concurrent renders.
final class LockedProgress: @unchecked Sendable {
    private let lock = NSLock()
    private let enabled: Bool
    private var bar: Progress?

    init(enabled: Bool) { self.enabled = enabled }

    func update(_ done: Int, _ total: Int) {
        lock.withLock {
            if bar == nil { bar = Progress(total: total, enabled: enabled && total > 0) }
            bar?.update(done)
        }
    }

    func finish() { lock.withLock { bar?.finish() } }
}
