public import Foundation
public import RenditionCatalog
public import RenditionCore

/// Everything `rendition serve` (and the function) can be told, from `rendition.yaml` and `RENDITION_*`
/// environment variables (which win). Every setting has a default that runs locally.
public struct RenditionConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// Where the public URLs live, such as `https://images.example.com`; empty for redirects relative to
    /// the host the client asked (right behind any proxy or CDN that keeps paths).
    public var publicBaseURL = ""
    /// The first path segment of the render route.
    public var renderPrefix = "_render"
    /// The folder of pipeline files.
    public var pipelines = "pipelines"
    /// The folder of originals (source store).
    public var sourcePath = "data/originals"
    /// The folder renditions are written to (rendition store).
    public var renditionsPath = "data/renditions"
    /// The service-wide pixel ceiling; presets can only lower it.
    public var maxInputPixels = 50_000_000
    public var service = ServiceSettings()
    /// Serve the preset studio page (off in production configuration, on in the embedded default).
    public var studio = true

    public init() {}

    /// One documented setting: its YAML path, environment variable, and how to read it.
    struct Setting: Sendable {
        let path: String
        let environment: String
        let expected: String
        let apply: @Sendable (inout RenditionConfiguration, String) -> Bool
    }

    static let settings: [Setting] = [
        Setting(path: "server.host", environment: "RENDITION_HOST", expected: "a host name or IP address") {
            guard !$1.isEmpty else { return false }
            $0.host = $1
            return true
        },
        Setting(path: "server.port", environment: "RENDITION_PORT", expected: "a port number from 1 to 65535") {
            guard let port = Int($1), (1...65535).contains(port) else { return false }
            $0.port = port
            return true
        },
        Setting(
            path: "server.publicBaseURL", environment: "RENDITION_PUBLIC_BASE_URL",
            expected: "an http(s) URL without a trailing slash, or empty"
        ) {
            guard
                $1.isEmpty
                    || (($1.hasPrefix("http://") || $1.hasPrefix("https://")) && !$1.hasSuffix("/")
                        && URL(string: $1) != nil)
            else { return false }
            $0.publicBaseURL = $1
            return true
        },
        Setting(
            path: "server.renderPrefix", environment: "RENDITION_RENDER_PREFIX",
            expected: "one path segment such as _render"
        ) {
            guard !$1.isEmpty, !$1.contains("/"), $1.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else {
                return false
            }
            $0.renderPrefix = $1
            return true
        },
        Setting(path: "server.studio", environment: "RENDITION_STUDIO", expected: "true or false") {
            guard let value = Bool($1) else { return false }
            $0.studio = value
            return true
        },
        Setting(path: "pipelines", environment: "RENDITION_PIPELINES", expected: "a folder of pipeline files") {
            guard !$1.isEmpty else { return false }
            $0.pipelines = $1
            return true
        },
        Setting(path: "storage.source.path", environment: "RENDITION_SOURCE_PATH", expected: "a folder path") {
            guard !$1.isEmpty else { return false }
            $0.sourcePath = $1
            return true
        },
        Setting(path: "storage.renditions.path", environment: "RENDITION_RENDITIONS_PATH", expected: "a folder path") {
            guard !$1.isEmpty else { return false }
            $0.renditionsPath = $1
            return true
        },
        Setting(
            path: "limits.maxInputBytes", environment: "RENDITION_MAX_INPUT_BYTES",
            expected: "a byte count such as 50M or 20000000"
        ) {
            guard let bytes = Quantity.count($1) else { return false }
            $0.service.maxInputBytes = bytes
            return true
        },
        Setting(
            path: "limits.maxInputPixels", environment: "RENDITION_MAX_INPUT_PIXELS",
            expected: "a pixel count such as 50M"
        ) {
            guard let pixels = Quantity.count($1) else { return false }
            $0.maxInputPixels = pixels
            return true
        },
        Setting(
            path: "limits.renderTimeout", environment: "RENDITION_RENDER_TIMEOUT",
            expected: "a duration such as 30s or 2m"
        ) {
            guard let seconds = Quantity.seconds($1), seconds > 0 else { return false }
            $0.service.renderTimeout = .seconds(seconds)
            return true
        },
        Setting(
            path: "limits.workers", environment: "RENDITION_WORKERS",
            expected: "a number of render threads (0 for one per core)"
        ) {
            guard let workers = Int($1), workers >= 0, workers <= 256 else { return false }
            $0.service.workers = workers == 0 ? nil : workers
            return true
        },
        Setting(
            path: "limits.queueSize", environment: "RENDITION_QUEUE_SIZE",
            expected: "a number of waiting renders (0 or more)"
        ) {
            guard let size = Int($1), size >= 0 else { return false }
            $0.service.queueSize = size
            return true
        },
    ]

    /// Every setting as `path (ENVIRONMENT)`, for documentation and error messages.
    public static var documentedSettings: [(path: String, environment: String, expected: String)] {
        settings.map { ($0.path, $0.environment, $0.expected) }
    }

    /// Reads `file` (if it exists, or if it was named explicitly) and then the environment. Every bad
    /// value is reported, naming the setting.
    public static func load(file: String?, environment: [String: String]) throws(ConfigurationError)
        -> RenditionConfiguration
    {
        var configuration = RenditionConfiguration()
        var problems: [String] = []
        let path = file ?? environment["RENDITION_CONFIG"] ?? "rendition.yaml"
        let explicit = file != nil || environment["RENDITION_CONFIG"] != nil
        if FileManager.default.fileExists(atPath: path) {
            problems += configuration.read(file: path)
        } else if explicit {
            problems.append("\(path): configuration file not found")
        }
        for setting in settings {
            guard let value = environment[setting.environment] else { continue }
            if !setting.apply(&configuration, value) {
                problems.append("\(setting.environment): expected \(setting.expected), got \"\(value)\"")
            }
        }
        guard problems.isEmpty else { throw ConfigurationError(problems: problems) }
        return configuration
    }

    private mutating func read(file: String) -> [String] {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            return ["\(file): cannot read the file"]
        }
        let document: SpecNode
        switch YAMLDocument.parse(text, file: file) {
        case .failure(let problem): return [problem.description]
        case .success(let node): document = node
        }
        var problems: [String] = []
        func walk(_ node: SpecNode, _ prefix: String) {
            guard case .mapping(let entries, _) = node else {
                problems.append(
                    "\(node.location): \(prefix.isEmpty ? "the file" : prefix): expected a mapping, got \(node.found)")
                return
            }
            for entry in entries {
                let path = prefix.isEmpty ? entry.key : "\(prefix).\(entry.key)"
                if case .mapping = entry.value, Self.settings.contains(where: { $0.path.hasPrefix(path + ".") }) {
                    walk(entry.value, path)
                    continue
                }
                guard let setting = Self.settings.first(where: { $0.path == path }) else {
                    let known = Self.settings.map(\.path).joined(separator: ", ")
                    problems.append("\(entry.keyLocation): \(path): unknown setting; known settings: \(known)")
                    continue
                }
                let value: String
                switch entry.value {
                case .scalar(let text, _): value = text
                case .null: value = ""
                default: value = entry.value.found
                }
                if !setting.apply(&self, value) {
                    problems.append(
                        "\(entry.value.location): \(path): expected \(setting.expected), got \(entry.value.found)")
                }
            }
        }
        walk(document, "")
        return problems
    }

    /// Plans every pipeline file, refusing preset names that clash with the render prefix.
    public func loadPipelines() throws(ConfigurationError) -> [String: PipelinePlan] {
        let library = PipelineLibrary.load(
            [pipelines],
            planner: Planner(registry: Catalog.registry, limits: ServiceLimits(maxInputPixels: maxInputPixels)))
        var problems = library.problems.map(\.description)
        if let clash = library.plans[renderPrefix] {
            problems.append("\(clash.source): preset \"\(renderPrefix)\" clashes with server.renderPrefix; rename one")
        }
        guard problems.isEmpty else { throw ConfigurationError(problems: problems) }
        return library.plans
    }
}

/// Bad configuration: every problem, each naming its setting.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public let problems: [String]
    public var description: String { problems.joined(separator: "\n") }
}
