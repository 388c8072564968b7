import ArgumentParser
import RenditionCatalog
import RenditionCore

struct Schema: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the JSON Schema of pipeline files, generated from the stage list.",
        discussion: "The committed copy is pipelines/rendition.schema.json; a test keeps it current."
    )

    @Option(name: .shortAndLong, help: "Write to this file instead of standard output.")
    var output: String?

    func run() throws {
        let text = PipelineSchema.make(Catalog.registry).pretty() + "\n"
        if let output {
            try writeBytes(Array(text.utf8), to: output)
        } else {
            print(text, terminator: "")
        }
    }
}
