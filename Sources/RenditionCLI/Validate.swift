import ArgumentParser
import RenditionCatalog
import RenditionCore

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check pipeline files; list every problem.",
        discussion: "Exits 0 when every file plans, 1 otherwise. Run it in CI on pipelines/."
    )

    @Argument(help: "Pipeline files or folders (default: pipelines).")
    var paths: [String] = []

    func run() throws {
        let library = PipelineLibrary.load(paths.isEmpty ? ["pipelines"] : paths)
        for plan in library.plans.values.sorted(by: { $0.source < $1.source }) {
            print("ok    \(plan.source)  preset \(plan.name)  fingerprint \(plan.fingerprint.prefix(12))")
        }
        guard library.problems.isEmpty else {
            for problem in library.problems { Console.error(problem.description) }
            let files = Set(library.problems.map(\.location.file)).count
            Console.error(
                "\(library.problems.count) problem\(library.problems.count == 1 ? "" : "s") in \(files) file\(files == 1 ? "" : "s")"
            )
            throw ExitCode(1)
        }
    }
}
