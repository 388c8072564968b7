import ArgumentParser
import Foundation
import RenditionCatalog
import RenditionCore

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Render local files with a preset.",
        discussion: """
            One input writes NAME-PRESET.EXT in the current folder, or --output. Many inputs render in parallel \
            (one per core) into --out-dir; failures are listed and the exit status is 1 if any failed.
            """
    )

    @Argument(help: "Preset name (pipelines/NAME.yaml) or path to a pipeline file.")
    var preset: String

    @Argument(help: "Original image files.")
    var inputs: [String]

    @OptionGroup var pipelineOptions: PipelineOptions

    @Option(name: .shortAndLong, help: "Output file (one input only).")
    var output: String?

    @Option(name: .long, help: "Folder for the renditions (named after each input).")
    var outDir: String?

    @Option(name: .long, help: "For a preset with variants: the size to render, such as 800w or 2x (default: its own).")
    var variant: String?

    @Option(
        name: .long, help: "For a preset with format: auto: the candidate to write, such as avif (default: the first).")
    var format: String?

    @Option(name: .long, help: "Renders at once (default: one per core).")
    var jobs: Int?

    func validate() throws {
        if output != nil && inputs.count != 1 {
            throw ValidationError("--output takes exactly one input; use --out-dir for several.")
        }
        if output != nil && outDir != nil { throw ValidationError("Give --output or --out-dir, not both.") }
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1.") }
    }

    func destination(for input: String, plan: PipelinePlan) -> String {
        if let output { return output }
        let stem = URL(fileURLWithPath: input).deletingPathExtension().lastPathComponent
        if let outDir { return "\(outDir)/\(stem).\(plan.output.fileExtension)" }
        return "\(stem)-\(plan.name).\(plan.output.fileExtension)"
    }

    func run() async throws {
        let plan: PipelinePlan
        do {
            let preset = try pipelineOptions.plan(preset)
            let modifiers = [variant, format].compactMap { $0 }.joined(separator: "@")
            var form = try preset.form(modifiers: modifiers.isEmpty ? nil : modifiers[...])
            if preset.negotiates, form.format == nil { form.format = preset.form.format }
            plan = preset.plan(for: form)!
        } catch let error as CLIError {
            Console.error(error.description)
            throw ExitCode(1)
        } catch let error as RenditionError {
            Console.error(error.line)
            throw ExitCode(1)
        }
        let destinations = inputs.map { destination(for: $0, plan: plan) }
        if Set(destinations).count != destinations.count {
            Console.error(
                "two inputs would write the same file (same name in different folders); render them separately")
            throw ExitCode(1)
        }
        let renderer = try Renderer(threads: jobs)
        let start = ContinuousClock.now
        let progress = Progress(total: inputs.count, enabled: inputs.count > 1 && Console.stderrIsTerminal)
        var failures: [(String, String)] = []
        var done = 0
        // Keep the pool busy without reading every input into memory at once.
        let window = renderer.threadCount * 2
        await withTaskGroup(of: (String, String?).self) { group in
            var next = 0
            func submit() {
                guard next < inputs.count else { return }
                let input = inputs[next]
                let target = destinations[next]
                next += 1
                group.addTask {
                    do {
                        let bytes = try readBytes(input)
                        let result = try await renderer.render(plan, input: bytes)
                        try writeBytes(result.bytes, to: target)
                        if inputs.count == 1 {
                            print(
                                "\(input) → \(target)  \(result.width)×\(result.height), \(formatBytes(result.bytes.count))"
                            )
                        }
                        return (input, nil)
                    } catch let error as RenditionError {
                        return (input, error.line)
                    } catch {
                        return (input, "\(error)")
                    }
                }
            }
            for _ in 0..<window { submit() }
            for await (input, failure) in group {
                if let failure { failures.append((input, failure)) } else { done += 1 }
                progress.update(done + failures.count)
                submit()
            }
        }
        progress.finish()
        try await renderer.shutdown()
        let seconds = (ContinuousClock.now - start).milliseconds / 1_000
        for (input, failure) in failures.sorted(by: { $0.0 < $1.0 }) { Console.error("failed \(input): \(failure)") }
        if inputs.count > 1 || !failures.isEmpty {
            print(String(format: "rendered %d, failed %d, in %.2f s", done, failures.count, seconds))
        }
        if !failures.isEmpty { throw ExitCode(1) }
    }
}

/// A one-line progress bar on standard error, drawn only on a terminal.
final class Progress {
    let total: Int
    let enabled: Bool

    init(total: Int, enabled: Bool) {
        self.total = total
        self.enabled = enabled
    }

    func update(_ count: Int) {
        guard enabled else { return }
        let width = 30
        let filled = total == 0 ? width : count * width / total
        let bar = String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled)
        FileHandle.standardError.write(Data("\r[\(bar)] \(count)/\(total)".utf8))
    }

    func finish() {
        if enabled { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
