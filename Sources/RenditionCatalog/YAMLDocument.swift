public import RenditionCore
internal import Yams

/// Reads YAML text into a ``SpecNode`` tree that keeps every node's line and column.
public enum YAMLDocument {
    /// Parses `text` read from `file`. A syntax error becomes one located ``PipelineProblem``.
    public static func parse(_ text: String, file: String) -> Result<SpecNode, PipelineProblem> {
        let start = SpecLocation(file: file, line: 1, column: 1)
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            return .failure(problem(error, file: file))
        } catch {
            return .failure(PipelineProblem(start, "", "could not read YAML: \(error)"))
        }
        guard let node else {
            return .failure(
                PipelineProblem(
                    start, "", "the file is empty; a pipeline file has description, stages, cache, limits, input"))
        }
        return convert(node, file: file)
    }

    private static func location(_ mark: Mark?, _ file: String) -> SpecLocation {
        SpecLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1)
    }

    private static func convert(_ node: Node, file: String) -> Result<SpecNode, PipelineProblem> {
        let here = location(node.mark, file)
        switch node {
        case .scalar(let scalar):
            if scalar.style == .plain, ["", "~", "null", "Null", "NULL"].contains(scalar.string) {
                return .success(.null(here))
            }
            return .success(.scalar(scalar.string, here))
        case .sequence(let sequence):
            var items: [SpecNode] = []
            for item in sequence {
                switch convert(item, file: file) {
                case .success(let converted): items.append(converted)
                case .failure(let problem): return .failure(problem)
                }
            }
            return .success(.sequence(items, here))
        case .mapping(let mapping):
            var entries: [SpecEntry] = []
            for (key, value) in mapping {
                guard case .scalar(let scalar) = key else {
                    return .failure(PipelineProblem(location(key.mark, file), "", "mapping keys must be plain words"))
                }
                switch convert(value, file: file) {
                case .success(let converted):
                    entries.append(
                        SpecEntry(key: scalar.string, keyLocation: location(key.mark, file), value: converted))
                case .failure(let problem): return .failure(problem)
                }
            }
            return .success(.mapping(entries, here))
        case .alias:
            return .failure(
                PipelineProblem(here, "", "YAML aliases are not supported in pipeline files; write the value out"))
        }
    }

    private static func problem(_ error: YamlError, file: String) -> PipelineProblem {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let detail = context.map { "\(problem) \($0.text)" } ?? problem
            return PipelineProblem(location(mark, file), "", "YAML syntax error: \(detail)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return PipelineProblem(
                location(context.mark, file), "",
                "duplicate keys \(duplicates.joined(separator: ", ")); keep one of each")
        default:
            return PipelineProblem(SpecLocation(file: file, line: 1, column: 1), "", "YAML error: \(error)")
        }
    }
}
