import ArgumentParser
import Foundation
import RenditionCatalog
import RenditionCore

struct Plan: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Explain a preset (dry run): its stages, options, load hints, and what it does to an input.",
        discussion: "Writes nothing unless --output is given. Exits 1 when the input would be refused."
    )

    @Argument(help: "Preset name (pipelines/NAME.yaml) or path to a pipeline file.")
    var preset: String

    @OptionGroup var pipelineOptions: PipelineOptions

    @Option(name: .shortAndLong, help: "An original to run the preset on.")
    var input: String?

    @Option(name: .shortAndLong, help: "Also write the rendition here (needs --input).")
    var output: String?

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func validate() throws {
        if output != nil && input == nil {
            throw ValidationError("--output needs --input: give the original to render.")
        }
    }

    func run() async throws {
        let plan: PipelinePlan
        do { plan = try pipelineOptions.plan(preset) } catch let error as CLIError {
            Console.error(error.description)
            throw ExitCode(1)
        }
        var outcome: Outcome?
        if let input {
            let reading = PhaseClock()
            let bytes = try readBytes(input)
            reading.lap("read")
            let renderer = try Renderer(threads: 1)
            let info = try? await renderer.inspect(bytes, plan: plan)
            do {
                let start = PhaseClock.now()
                let result = try await renderer.render(plan, input: bytes)
                let cpu = (PhaseClock.now() - start) * 1e3
                let profiled = try await renderer.profile(plan, input: bytes)
                outcome = Outcome(
                    path: input, info: result.report.input, result: result, error: nil, cpuMilliseconds: cpu,
                    phases: reading.phases + profiled.report.phases)
                if let output { try writeBytes(result.bytes, to: output) }
            } catch let error as RenditionError {
                outcome = Outcome(path: input, info: info, result: nil, error: error, cpuMilliseconds: nil, phases: [])
            }
            try await renderer.shutdown()
        }
        print(json ? describeJSON(plan, outcome).pretty() : describeText(plan, outcome), terminator: json ? "\n" : "")
        if outcome?.error != nil { throw ExitCode(1) }
    }

    struct Outcome {
        let path: String
        let info: InputInfo?
        let result: RenderResult?
        let error: RenditionError?
        /// The CPU of the render, every thread.
        let cpuMilliseconds: Double?
        /// The CPU of each phase of a second, profiled render (each phase computed into memory in turn).
        let phases: [RenderReport.Phase]
    }

    func describeText(_ plan: PipelinePlan, _ outcome: Outcome?) -> String {
        var text = "preset \(plan.name)  (\(plan.source))\n"
        if let summary = plan.summary { text += "  \(summary)\n" }
        text += "fingerprint \(plan.fingerprint)\n\nstages:\n"
        for (index, step) in plan.steps.enumerated() {
            let options = step.options.map { "\($0.name)=\($0.value)" }.joined(separator: " ")
            text += "  \(index + 1). \(step.name)\(options.isEmpty ? "" : "  " + options)\n"
        }
        text += "\nload hints: shrink-on-load \(plan.hints.shrinkOnLoad ? "allowed (JPEG, WebP)" : "not needed"), "
        text += "\(plan.hints.randomAccess ? "random" : "sequential") access, failOn=\(plan.hints.failOn.rawValue)\n"
        text += "cache: \(plan.cacheControl)\n"
        text += "limits: maxInputPixels \(Quantity.describe(count: plan.maxInputPixels))\n"
        text += renditions(plan, outcome?.info)
        guard let outcome else { return text }

        text += "\ninput \(outcome.path)\n"
        if let info = outcome.info {
            text += "  \(info.format.rawValue) \(info.width)×\(info.height), orientation \(info.orientation), "
            text += "\(info.pages) page\(info.pages == 1 ? "" : "s"), \(formatBytes(info.byteCount))\n"
            let predicted = plan.predict(for: info)
            text += "  shrink-on-load: \(predicted.shrink)"
            if predicted.shrink > 1 { text += " (decoded at 1/\(predicted.shrink) scale)" }
            text += "\n"
        }
        if let error = outcome.error {
            text += "\nwould fail: \(error.line)\n"
            return text
        }
        guard let result = outcome.result else { return text }
        let report = result.report
        text +=
            "  decoded: \(report.loadedWidth)×\(report.loadedHeight)  \(formatMilliseconds(report.loadMilliseconds))\n"
        for step in report.steps {
            text +=
                "  \(step.name.padding(8)) → \(step.width)×\(step.height)  \(formatMilliseconds(step.milliseconds))\n"
        }
        text += "  \(plan.outputStep.name.padding(8)) → \(plan.output.fileExtension) \(result.width)×\(result.height), "
        text += "\(formatBytes(result.bytes.count))  \(formatMilliseconds(report.encodeMilliseconds))\n"
        text +=
            "  total \(formatMilliseconds(report.totalMilliseconds)) (libvips decodes and resamples lazily, during encode)\n"
        for note in report.notes { text += "  note: \(note)\n" }
        if let cpu = outcome.cpuMilliseconds {
            let sum = outcome.phases.reduce(0) { $0 + $1.cpuMilliseconds }
            text += "\nCPU \(formatMilliseconds(cpu)), every thread; by phase, each computed into memory in turn "
            text += "(\(formatMilliseconds(sum)) in all):\n"
            for phase in outcome.phases {
                text += "  \(phase.name.padding(14)) \(formatMilliseconds(phase.cpuMilliseconds))\n"
            }
        }
        if let output { text += "\nwrote \(output)\n" }
        return text
    }

    /// Every URL the preset answers and the formats each can be, with their size for `info` when given.
    func renditions(_ plan: PipelinePlan, _ info: InputInfo?) -> String {
        var text = "\nrenditions ({key} is the original's key"
        text += plan.negotiates ? "; the format is the first of these the client's Accept names):\n" : "):\n"
        for size in plan.variants.sizes {
            let forms = plan.allForms.filter { $0.form.size == size }
            guard let first = forms.first else { continue }
            let url = "/\(first.form.publicSegment(preset: plan.name))/{key}"
            var line =
                "  \(url.padding(24)) \(forms.map { $0.form.format ?? $0.output.fileExtension }.joined(separator: " | "))"
            if plan.negotiates {
                line +=
                    "  (stored as \(forms.map { "\($0.form.segment(preset: plan.name))/" }.joined(separator: ", ")))"
            }
            if let info, let geometry = first.predict(for: info).steps.last {
                line += "  → \(geometry.width)×\(geometry.height)"
                if first.isCapped(for: info) { line += " (capped: enlarge: false)" }
            }
            text += line + "\n"
        }
        return text
    }

    func describeJSON(_ plan: PipelinePlan, _ outcome: Outcome?) -> JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("preset", .string(plan.name)),
            ("source", .string(plan.source)),
            ("description", plan.summary.map(JSONValue.string) ?? .null),
            ("fingerprint", .string(plan.fingerprint)),
            (
                "renditions",
                .array(
                    plan.allForms.map { form in
                        var pairs: [(String, JSONValue)] = [
                            ("url", .string("/\(form.form.publicSegment(preset: plan.name))/{key}")),
                            ("key", .string("\(form.form.segment(preset: plan.name))/{key}")),
                            ("mediaType", .string(form.output.mediaType)),
                            ("fingerprint", .string(form.fingerprint)),
                        ]
                        if let info = outcome?.info, let geometry = form.predict(for: info).steps.last {
                            pairs += [
                                ("width", .int(geometry.width)), ("height", .int(geometry.height)),
                                ("capped", .bool(form.isCapped(for: info))),
                            ]
                        }
                        return .object(pairs)
                    })
            ),
            (
                "stages",
                .array(
                    plan.steps.map { step in
                        .object([
                            ("name", .string(step.name)),
                            ("options", .object(step.options.map { ($0.name, $0.value.json) })),
                        ])
                    })
            ),
            (
                "loadHints",
                .object([
                    ("shrinkOnLoad", .bool(plan.hints.shrinkOnLoad)), ("randomAccess", .bool(plan.hints.randomAccess)),
                    ("failOn", .string(plan.hints.failOn.rawValue)),
                ])
            ),
            ("cacheControl", .string(plan.cacheControl)),
            ("maxInputPixels", .int(plan.maxInputPixels)),
        ]
        guard let outcome else { return .object(pairs) }
        var input: [(String, JSONValue)] = [("path", .string(outcome.path))]
        if let info = outcome.info {
            input += [
                ("format", .string(info.format.rawValue)), ("width", .int(info.width)), ("height", .int(info.height)),
                ("orientation", .int(info.orientation)), ("pages", .int(info.pages)), ("bytes", .int(info.byteCount)),
                ("shrinkOnLoad", .int(plan.predict(for: info).shrink)),
            ]
        }
        pairs.append(("input", .object(input)))
        if let error = outcome.error {
            pairs.append(
                ("error", .object([("code", .string(error.code.rawValue)), ("message", .string(error.message))])))
        }
        if let result = outcome.result {
            let report = result.report
            pairs.append(
                (
                    "output",
                    .object([
                        ("mediaType", .string(result.mediaType)), ("width", .int(result.width)),
                        ("height", .int(result.height)),
                        ("bytes", .int(result.bytes.count)), ("decodedWidth", .int(report.loadedWidth)),
                        ("decodedHeight", .int(report.loadedHeight)),
                        (
                            "steps",
                            .array(
                                report.steps.map {
                                    .object([
                                        ("name", .string($0.name)), ("width", .int($0.width)),
                                        ("height", .int($0.height)),
                                        ("milliseconds", .double($0.milliseconds)),
                                    ])
                                })
                        ),
                        ("encodeMilliseconds", .double(report.encodeMilliseconds)),
                        ("totalMilliseconds", .double(report.totalMilliseconds)),
                        ("notes", .array(report.notes.map(JSONValue.string))),
                    ])
                ))
            pairs.append(("cpuMilliseconds", .double(outcome.cpuMilliseconds ?? 0)))
            pairs.append(
                (
                    "phases",
                    .array(
                        outcome.phases.map {
                            .object([("name", .string($0.name)), ("cpuMilliseconds", .double($0.cpuMilliseconds))])
                        })
                ))
        }
        return .object(pairs)
    }
}
