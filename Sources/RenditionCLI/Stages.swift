import ArgumentParser
import RenditionCatalog
import RenditionCore

struct Stages: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the stages, their options, types and defaults.")

    func run() {
        for stage in Catalog.registry.stages {
            print("\(stage.name) — \(stage.summary)")
            if stage.options.isEmpty { print("    (no options)") }
            for option in stage.options {
                var line = "    \(option.name): \(option.kind.summary)"
                if option.required { line += "  (required)" }
                if let value = option.defaultValue { line += "  (default \(value))" }
                print(line)
                print("        \(option.help)")
            }
            print()
        }
    }
}

extension String {
    func padding(_ width: Int) -> String { self + String(repeating: " ", count: max(0, width - count)) }
}
