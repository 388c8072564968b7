public import AsyncHTTPClient
public import Foundation
public import ObjectStorage
public import RenditionCatalog
public import RenditionCore
public import S3Storage

/// Where one store lives: a folder, or an S3 bucket (with an optional prefix).
public struct StoreConfiguration: Sendable, Hashable {
    public enum Kind: String, Sendable, CaseIterable { case fs, s3 }

    public var kind: Kind = .fs
    /// Folder, for `fs`.
    public var path: String
    /// Bucket, prefix, region, endpoint and addressing style, for `s3`.
    public var bucket = ""
    public var prefix = ""
    public var region = ""
    public var endpoint = ""
    public var addressing: S3Location.Addressing = .virtual

    public init(path: String) { self.path = path }
}

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
    /// The source store (originals).
    public var source = StoreConfiguration(path: "data/originals")
    /// The rendition store.
    public var renditions = StoreConfiguration(path: "data/renditions")
    /// S3 credentials from the configuration file; `AWS_*` variables take precedence.
    public var accessKeyID = ""
    public var secretAccessKey = ""
    /// How long one S3 request may take before it is retried (then 504).
    public var storageTimeout: Duration = .seconds(10)
    /// The service-wide pixel ceiling; presets can only lower it.
    public var maxInputPixels = 50_000_000
    public var service = ServiceSettings()
    /// The CloudFront distribution in front of the renditions, whose edges a purge (and the function, on an
    /// original deleted or replaced) tells to drop purged paths; empty for none.
    public var cloudFrontDistribution = ""
    /// CloudFront's API endpoint; empty for AWS. For tests (moto) and partitions with their own endpoint.
    public var cloudFrontEndpoint = ""
    /// Serve the preset studio page at `/studio`. On in the embedded default (no configuration file and no
    /// `RENDITION_*` setting, so a newcomer sees the flow in a browser); ``load(file:environment:)`` turns it
    /// off as soon as the service is configured, unless `server.studio` / `RENDITION_STUDIO` says otherwise:
    /// a configured service is a production one, and the page lists originals.
    public var studio = true

    public init() {}

    /// One documented setting: its YAML path, environment variable, and how to read it.
    struct Setting: Sendable {
        let path: String
        let environment: String
        let expected: String
        let apply: @Sendable (inout RenditionConfiguration, String) -> Bool
    }

    static let settings: [Setting] =
        [
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
            Setting(
                path: "storage.timeout", environment: "RENDITION_STORAGE_TIMEOUT", expected: "a duration such as 10s"
            ) {
                guard let seconds = Quantity.seconds($1), seconds > 0 else { return false }
                $0.storageTimeout = .seconds(seconds)
                return true
            },
            Setting(
                path: "storage.accessKeyID", environment: "RENDITION_S3_ACCESS_KEY_ID", expected: "an access key id"
            ) {
                $0.accessKeyID = $1
                return !$1.isEmpty
            },
            Setting(
                path: "storage.secretAccessKey", environment: "RENDITION_S3_SECRET_ACCESS_KEY",
                expected: "a secret access key"
            ) {
                $0.secretAccessKey = $1
                return !$1.isEmpty
            },
            Setting(
                path: "cdn.cloudfrontDistribution", environment: "RENDITION_CLOUDFRONT_DISTRIBUTION",
                expected: "a CloudFront distribution ID such as E2QWRUHAPOMQZL, or empty"
            ) {
                guard $1.isEmpty || CloudFrontInvalidator.isDistributionID($1) else { return false }
                $0.cloudFrontDistribution = $1
                return true
            },
            Setting(
                path: "cdn.cloudfrontEndpoint", environment: "RENDITION_CLOUDFRONT_ENDPOINT",
                expected: "an http(s) URL without a trailing slash, or empty for AWS"
            ) {
                guard $1.isEmpty || (($1.hasPrefix("http://") || $1.hasPrefix("https://")) && !$1.hasSuffix("/")) else {
                    return false
                }
                $0.cloudFrontEndpoint = $1
                return true
            },
        ] + storeSettings("source", \.source) + storeSettings("renditions", \.renditions) + [
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
                path: "limits.memoryCache", environment: "RENDITION_MEMORY_CACHE",
                expected: "a byte count such as 32M (0 turns it off)"
            ) {
                guard let bytes = $1 == "0" ? 0 : Quantity.count($1) else { return false }
                $0.service.memoryCacheBytes = bytes
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

    /// The settings of one store, `storage.<name>.*` and `RENDITION_<NAME>_*`.
    static func storeSettings(
        _ name: String, _ store: any WritableKeyPath<RenditionConfiguration, StoreConfiguration> & Sendable
    ) -> [Setting] {
        let variable = "RENDITION_\(name.uppercased())_"
        return [
            Setting(path: "storage.\(name).type", environment: variable + "TYPE", expected: "fs or s3") {
                guard let kind = StoreConfiguration.Kind(rawValue: $1) else { return false }
                $0[keyPath: store].kind = kind
                return true
            },
            Setting(path: "storage.\(name).path", environment: variable + "PATH", expected: "a folder path") {
                guard !$1.isEmpty else { return false }
                $0[keyPath: store].path = $1
                return true
            },
            Setting(
                path: "storage.\(name).bucket", environment: variable + "BUCKET",
                expected: "an S3 bucket name (3–63 lowercase letters, digits, '.', '-')"
            ) {
                let allowed = $1.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "." || $0 == "-" }
                guard allowed, (3...63).contains($1.count) else { return false }
                $0[keyPath: store].bucket = $1
                return true
            },
            Setting(
                path: "storage.\(name).prefix", environment: variable + "PREFIX", expected: "a folder inside the bucket"
            ) {
                $0[keyPath: store].prefix = $1.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
                return true
            },
            Setting(
                path: "storage.\(name).region", environment: variable + "REGION",
                expected: "an AWS region such as eu-west-1"
            ) {
                guard !$1.isEmpty, !$1.contains("/") else { return false }
                $0[keyPath: store].region = $1
                return true
            },
            Setting(
                path: "storage.\(name).endpoint", environment: variable + "ENDPOINT",
                expected: "an http(s) URL such as http://127.0.0.1:9000, or empty for AWS"
            ) {
                guard $1.isEmpty || (($1.hasPrefix("http://") || $1.hasPrefix("https://")) && !$1.hasSuffix("/")) else {
                    return false
                }
                $0[keyPath: store].endpoint = $1
                return true
            },
            Setting(
                path: "storage.\(name).addressing", environment: variable + "ADDRESSING", expected: "path or virtual"
            ) {
                guard let style = S3Location.Addressing(rawValue: $1) else { return false }
                $0[keyPath: store].addressing = style
                return true
            },
        ]
    }

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
        var problems: [PipelineProblem] = []
        let path = file ?? environment["RENDITION_CONFIG"] ?? "rendition.yaml"
        let explicit = file != nil || environment["RENDITION_CONFIG"] != nil
        let configured =
            FileManager.default.fileExists(atPath: path) || settings.contains { environment[$0.environment] != nil }
        if configured { configuration.studio = false }
        if FileManager.default.fileExists(atPath: path) {
            problems += configuration.read(file: path)
        } else if explicit {
            problems.append(PipelineProblem(.unpositioned(path), "", "configuration file not found"))
        }
        for setting in settings {
            guard let value = environment[setting.environment] else { continue }
            if !setting.apply(&configuration, value) {
                problems.append(
                    PipelineProblem(
                        .unpositioned(), setting.environment, "expected \(setting.expected), got \"\(value)\""))
            }
        }
        for (name, store) in [("source", configuration.source), ("renditions", configuration.renditions)]
        where store.kind == .s3 && store.bucket.isEmpty {
            problems.append(
                PipelineProblem(
                    .unpositioned(), "storage.\(name).bucket (RENDITION_\(name.uppercased())_BUCKET)",
                    "required when storage.\(name).type is s3"))
        }
        guard problems.isEmpty else { throw ConfigurationError(problems) }
        return configuration
    }

    /// The stores this configuration names. S3 stores share one HTTP client, which ``StoreSet/shutdown()``
    /// closes. S3 credentials come from `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN`, else
    /// from the configuration; the region from the store, else `AWS_REGION`, else `us-east-1`.
    public func makeStores(environment: [String: String]) throws(ConfigurationError) -> StoreSet {
        let needsS3 = source.kind == .s3 || renditions.kind == .s3
        let credentials = needsS3 ? try credentials(environment: environment, for: "s3 stores") : nil
        var policy = S3RetryPolicy()
        policy.requestTimeout = storageTimeout
        let client = needsS3 ? S3Store.makeHTTPClient(policy: policy) : nil
        func make(_ store: StoreConfiguration, _ name: String) throws(ConfigurationError) -> any ObjectStore {
            switch store.kind {
            case .fs:
                do {
                    return try FileSystemStore(root: URL(fileURLWithPath: store.path))
                } catch {
                    throw ConfigurationError([PipelineProblem(.unpositioned(), "storage.\(name).path", error.message)])
                }
            case .s3:
                let region =
                    store.region.isEmpty
                    ? (environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] ?? "us-east-1") : store.region
                let location = S3Location(
                    bucket: store.bucket, prefix: store.prefix, region: region,
                    endpoint: store.endpoint.isEmpty ? nil : store.endpoint,
                    addressing: store.addressing)
                return S3Store(location: location, credentials: credentials!, client: client!, policy: policy)
            }
        }
        do {
            return StoreSet(
                source: try make(source, "source"), renditions: try make(renditions, "renditions"), client: client)
        } catch {
            try? client?.syncShutdown()
            throw error
        }
    }

    /// AWS credentials from `AWS_*` variables, else from the configuration; `purpose` names what needs them.
    func credentials(environment: [String: String], for purpose: String) throws(ConfigurationError)
        -> AWSCredentials
    {
        if let found = AWSCredentials.fromEnvironment(environment) { return found }
        guard !accessKeyID.isEmpty, !secretAccessKey.isEmpty else {
            throw ConfigurationError([
                PipelineProblem(
                    .unpositioned(),
                    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or storage.accessKeyID and storage.secretAccessKey)",
                    "required for \(purpose)")
            ])
        }
        return AWSCredentials(accessKeyID: accessKeyID, secretAccessKey: secretAccessKey)
    }

    /// The CloudFront client for `distributionID` (default: the configured distribution), or `nil` when
    /// there is none. It uses `client`, which the caller shuts down.
    public func makeInvalidator(
        distributionID: String? = nil, environment: [String: String], client: HTTPClient
    ) throws(ConfigurationError) -> CloudFrontInvalidator? {
        let id = distributionID ?? cloudFrontDistribution
        guard !id.isEmpty else { return nil }
        guard CloudFrontInvalidator.isDistributionID(id) else {
            throw ConfigurationError([
                PipelineProblem(
                    .unpositioned(), "the distribution ID", "expected upper-case letters and digits, got \"\(id)\"")
            ])
        }
        return CloudFrontInvalidator(
            distributionID: id, credentials: try credentials(environment: environment, for: "CloudFront invalidations"),
            client: client, endpoint: cloudFrontEndpoint.isEmpty ? nil : cloudFrontEndpoint)
    }

    /// Why the source and rendition stores overlap (the same folder or one inside the other; the same bucket
    /// with one prefix inside the other), or `nil`. A purge refuses to run on overlapping stores: it could
    /// delete originals.
    public var storeOverlap: String? {
        func inside(_ a: String, _ b: String) -> Bool { a.isEmpty || b.isEmpty || a == b || b.hasPrefix(a + "/") }
        switch (source.kind, renditions.kind) {
        case (.fs, .fs):
            func real(_ path: String) -> String {
                URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
            }
            let (a, b) = (real(source.path), real(renditions.path))
            guard inside(a, b) || inside(b, a) else { return nil }
            return
                "storage.source.path (\(a)) and storage.renditions.path (\(b)) are the same folder or one holds the other"
        case (.s3, .s3):
            guard source.bucket == renditions.bucket, source.endpoint == renditions.endpoint,
                inside(source.prefix, renditions.prefix) || inside(renditions.prefix, source.prefix)
            else { return nil }
            return
                "storage.source and storage.renditions are both in bucket \(source.bucket) with overlapping prefixes (\"\(source.prefix)\" and \"\(renditions.prefix)\")"
        default:
            return nil
        }
    }

    private mutating func read(file: String) -> [PipelineProblem] {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            return [PipelineProblem(.unpositioned(file), "", "cannot read the file")]
        }
        let document: SpecNode
        switch YAMLDocument.parse(text, file: file) {
        case .failure(let problem): return [problem]
        case .success(let node): document = node
        }
        var problems: [PipelineProblem] = []
        func walk(_ node: SpecNode, _ prefix: String) {
            guard case .mapping(let entries, _) = node else {
                problems.append(
                    PipelineProblem(
                        node.location, prefix.isEmpty ? "the file" : prefix, "expected a mapping, got \(node.found)"))
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
                    problems.append(
                        PipelineProblem(entry.keyLocation, path, "unknown setting; known settings: \(known)"))
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
                        PipelineProblem(
                            entry.value.location, path, "expected \(setting.expected), got \(entry.value.found)"))
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
        var problems = library.problems
        if let clash = library.plans[renderPrefix] {
            problems.append(
                PipelineProblem(
                    .unpositioned(clash.source), "",
                    "preset \"\(renderPrefix)\" clashes with server.renderPrefix; rename one"))
        }
        guard problems.isEmpty else { throw ConfigurationError(problems) }
        return library.plans
    }
}

/// The two stores of a service and the HTTP client their S3 stores share.
public struct StoreSet: Sendable {
    public let source: any ObjectStore
    public let renditions: any ObjectStore
    let client: HTTPClient?

    /// Closes the shared HTTP client, if any.
    public func shutdown() async {
        try? await client?.shutdown()
    }

    /// Closes the shared HTTP client from synchronous code.
    public func shutdownNow() throws {
        try client?.syncShutdown()
    }
}

/// Bad configuration: every problem, each naming its setting, located like a pipeline file's problems.
public typealias ConfigurationError = PipelineProblems
