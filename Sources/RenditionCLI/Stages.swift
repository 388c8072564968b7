import ArgumentParser
import RenditionCatalog
import RenditionCore

struct Stages: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the stages, their options, types and defaults.")

    @Flag(help: "Print the stage table of the README instead: one row per stage, its options and their defaults.")
    var markdown = false

    func run() {
        if markdown {
            print(Self.markdownTable())
            return
        }
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

    /// A Markdown table of every stage: its summary and its options, each with its default or `required`.
    static func markdownTable() -> String {
        func cell(_ text: String) -> String { text.replacingOccurrences(of: "|", with: "\\|") }
        let rows = Catalog.registry.stages.map { stage in
            let options = stage.options.map { option in
                var text = "`\(option.name)`"
                if option.required {
                    text += " (required)"
                } else if let value = option.defaultValue {
                    text += " (\(value))"
                }
                return cell(text)
            }
            return
                "| `\(stage.name)` | \(cell(stage.summary)) | \(options.isEmpty ? "—" : options.joined(separator: ", ")) |"
        }
        return (["| stage | what it does | options (default) |", "|---|---|---|"] + rows).joined(separator: "\n")
    }
}

extension String {
    func padding(_ width: Int) -> String { self + String(repeating: " ", count: max(0, width - count)) }
}
