/// A position in a pipeline or configuration file, 1-based, for error messages.
public struct SpecLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// Where a value came from when it has no position in a file: a whole file (`source` is its path), or
    /// an environment variable (`source` is empty; the problem's path names the variable).
    public static func unpositioned(_ source: String = "") -> SpecLocation {
        SpecLocation(file: source, line: 0, column: 0)
    }

    public var description: String { line > 0 ? "\(file):\(line):\(column)" : file }
}

/// A parsed pipeline document, independent of the syntax it came from: scalars stay text (their type
/// is decided by the option that reads them) and every node remembers where it was written.
public indirect enum SpecNode: Sendable {
    case scalar(String, SpecLocation)
    case mapping([SpecEntry], SpecLocation)
    case sequence([SpecNode], SpecLocation)
    case null(SpecLocation)

    public var location: SpecLocation {
        switch self {
        case .scalar(_, let location), .mapping(_, let location), .sequence(_, let location),
            .null(let location):
            location
        }
    }

    /// The number of items of a list, `nil` for any other node.
    public var count: Int? {
        if case .sequence(let items, _) = self { return items.count }
        return nil
    }

    /// How the node reads in a message: `-1`, `a mapping`, `a list`, `nothing`.
    public var found: String {
        switch self {
        case .scalar(let text, _): text.isEmpty ? "an empty string" : text
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .null: "nothing"
        }
    }
}

/// One `key: value` pair of a mapping.
public struct SpecEntry: Sendable {
    public var key: String
    public var keyLocation: SpecLocation
    public var value: SpecNode

    public init(key: String, keyLocation: SpecLocation, value: SpecNode) {
        self.key = key
        self.keyLocation = keyLocation
        self.value = value
    }
}

/// One problem in a pipeline or configuration file, printed as `file:line:column: path: message` (a part
/// that is empty is left out).
public struct PipelineProblem: Error, Sendable, Hashable, CustomStringConvertible {
    public var location: SpecLocation
    /// Where in the document, such as `resize.width`, `stages[2]` or `limits.maxInputPixels`.
    public var path: String
    /// What was expected and what was found, such as `expected a positive integer, got -1`.
    public var message: String

    public init(_ location: SpecLocation, _ path: String, _ message: String) {
        self.location = location
        self.path = path
        self.message = message
    }

    public var description: String {
        [location.description, path, message].filter { !$0.isEmpty }.joined(separator: ": ")
    }
}

/// Every problem found in one or more pipeline or configuration files.
public struct PipelineProblems: Error, Sendable, CustomStringConvertible {
    public var problems: [PipelineProblem]

    public init(_ problems: [PipelineProblem]) { self.problems = problems }

    public var description: String { problems.map(\.description).joined(separator: "\n") }
}
