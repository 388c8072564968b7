public import Foundation
public import RenditionCore

/// Pipeline files on disk: the presets of a folder, planned together.
public struct PipelineLibrary: Sendable {
    /// The plans that planned, by preset name.
    public let plans: [String: PipelinePlan]
    /// Every problem in every file.
    public let problems: [PipelineProblem]
    /// The files that were read, in name order.
    public let files: [String]

    /// File extensions read as pipeline files.
    public static let extensions: Set<String> = ["yaml", "yml"]

    /// Plans one pipeline file; the preset name is the file name without its extension.
    public static func planFile(at path: String, planner: Planner = Planner(registry: Catalog.registry)) -> Result<
        PipelinePlan, PipelineProblems
    > {
        let url = URL(fileURLWithPath: path)
        let name = url.deletingPathExtension().lastPathComponent
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            return .failure(
                PipelineProblems([
                    PipelineProblem(
                        SpecLocation(file: path, line: 1, column: 1), "",
                        "cannot read the file: \(error.localizedDescription)")
                ]))
        }
        return planText(text, name: name, source: path, planner: planner)
    }

    /// Plans pipeline text as preset `name`, reporting locations in `source`.
    public static func planText(
        _ text: String, name: String, source: String, planner: Planner = Planner(registry: Catalog.registry)
    )
        -> Result<PipelinePlan, PipelineProblems>
    {
        switch YAMLDocument.parse(text, file: source) {
        case .failure(let problem): .failure(PipelineProblems([problem]))
        case .success(let document): planner.plan(name: name, document: document, source: source)
        }
    }

    /// Plans every pipeline file under `paths` (files, or folders whose `.yaml`/`.yml` files are read;
    /// other files such as the JSON Schema are ignored). Two files for one preset name are a problem.
    public static func load(_ paths: [String], planner: Planner = Planner(registry: Catalog.registry))
        -> PipelineLibrary
    {
        var files: [String] = []
        var problems: [PipelineProblem] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                problems.append(
                    PipelineProblem(SpecLocation(file: path, line: 1, column: 1), "", "no such file or folder"))
                continue
            }
            if isDirectory.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
                let found = names.filter {
                    extensions.contains(URL(fileURLWithPath: $0).pathExtension) && !$0.hasPrefix(".")
                }
                .sorted().map { URL(fileURLWithPath: path).appendingPathComponent($0).relativePath }
                if found.isEmpty {
                    problems.append(
                        PipelineProblem(
                            SpecLocation(file: path, line: 1, column: 1), "", "no .yaml pipeline files in this folder"))
                }
                files += found
            } else {
                files.append(path)
            }
        }
        var plans: [String: PipelinePlan] = [:]
        for file in files {
            switch planFile(at: file, planner: planner) {
            case .failure(let found): problems += found.problems
            case .success(let plan):
                if let other = plans[plan.name] {
                    problems.append(
                        PipelineProblem(
                            SpecLocation(file: file, line: 1, column: 1), "",
                            "preset \"\(plan.name)\" is already defined by \(other.source); rename one file"))
                } else {
                    plans[plan.name] = plan
                }
            }
        }
        return PipelineLibrary(plans: plans, problems: problems, files: files)
    }
}
