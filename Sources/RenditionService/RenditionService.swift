public import Foundation
public import Logging
public import Metrics
public import ObjectStorage
public import RenditionCore

/// Where a rendition's time went, for `Server-Timing` and logs.
public struct RenderTimings: Sendable {
    /// Reading the original from the source store.
    public var load: Duration = .zero
    /// Decoding, running the stages and encoding.
    public var process: Duration = .zero
    /// Writing the rendition to the rendition store.
    public var store: Duration = .zero
}

/// What the render route did.
public enum RenderOutcome: Sendable {
    /// The rendition was made and stored now.
    case rendered(ObjectMetadata, RenderTimings)
    /// The rendition was already stored (or another worker stored it first); nothing was rendered.
    case existing(ObjectMetadata)
}

/// A validated request for one rendition.
public struct RenditionAddress: Sendable, Hashable {
    /// The plan of the form asked for (its size, and for a negotiating preset the chosen format).
    public let plan: PipelinePlan
    /// The original's key in the source store.
    public let key: ObjectKey
    /// `{preset}{@size}{@format}/{key}`: the rendition's key in the rendition store (and, for a fixed-format
    /// preset, its public path).
    public let renditionKey: ObjectKey

    public static func == (a: RenditionAddress, b: RenditionAddress) -> Bool { a.renditionKey == b.renditionKey }
    public func hash(into hasher: inout Hasher) { hasher.combine(renditionKey) }
}

/// The user metadata Rendition writes on every rendition, which purges and the origin route read back.
public enum RenditionMetadataKey {
    /// The fingerprint of the plan that made the rendition.
    public static let fingerprint = "rendition-fingerprint"
    /// The original's ETag when the rendition was made.
    public static let originalETag = "rendition-original-etag"
}

/// Service-wide settings of the render flow.
public struct ServiceSettings: Sendable {
    /// The most bytes an original may have (413 above).
    public var maxInputBytes: Int = 50 * 1024 * 1024
    /// How long one render (read, render, store) may take (504 after).
    public var renderTimeout: Duration = .seconds(30)
    /// Renders that run at once; `nil` for one per core.
    public var workers: Int?
    /// Renders that may wait for a worker before new ones are refused (503).
    public var queueSize: Int = 64
    /// Bytes of recently read or stored renditions kept in memory for origin hits; 0 turns it off.
    public var memoryCacheBytes: Int = 32 * 1024 * 1024
    /// How long a rendition kept in memory is served before the store is asked again (a purge in the store
    /// shows after at most this long).
    public var memoryCacheValidity: Duration = .seconds(1)

    public init() {}
}

/// The render flow without a transport: `(preset, key)` → a stored rendition, or a ``RenditionError``.
/// The HTTP server and the Lambda function both call this.
public final class RenditionService: Sendable {
    public let plans: [String: PipelinePlan]
    public let source: any ObjectStore
    public let renditions: any ObjectStore
    public let settings: ServiceSettings
    let renderer: Renderer
    let admission: Admission
    let flights = SingleFlight<RenderOutcome>()
    let recent: RecentRenditions
    let metrics: ServiceMetrics
    let logger: Logger

    public init(
        plans: [String: PipelinePlan], source: any ObjectStore, renditions: any ObjectStore,
        settings: ServiceSettings = ServiceSettings(), metricsFactory: any MetricsFactory = MetricsSystem.factory,
        logger: Logger = Logger(label: "rendition")
    ) throws {
        self.plans = plans
        self.source = source
        self.renditions = renditions
        self.settings = settings
        self.renderer = try Renderer(
            threads: settings.workers, limits: InputLimits(maxInputBytes: settings.maxInputBytes))
        self.admission = Admission(workers: renderer.threadCount, queueSize: settings.queueSize)
        self.recent = RecentRenditions(capacity: settings.memoryCacheBytes, validity: settings.memoryCacheValidity)
        self.metrics = ServiceMetrics(factory: metricsFactory)
        self.logger = logger
    }

    /// Stops the render pool after the renders in flight.
    public func shutdown() async throws {
        try await renderer.shutdown()
    }

    /// Render threads.
    public var workerCount: Int { renderer.threadCount }

    /// Checks a URL's first segment (a preset, with any `@` size and format it declares) and the
    /// percent-decoded key segments, and makes the address. For a preset that negotiates its format and a
    /// segment that names none, `accept` (the client's `Accept`) chooses it.
    public func address(segment: String, key: String, accept: String? = nil) throws(RenditionError)
        -> RenditionAddress
    {
        let (name, modifiers) = RenditionForm.split(segment)
        guard let preset = plans[name] else {
            throw RenditionError(
                .unknownPreset,
                "There is no preset named \"\(name)\"; use one of: \(plans.keys.sorted().joined(separator: ", ")).")
        }
        var form = try preset.form(modifiers: modifiers)
        if preset.negotiates, form.format == nil { form.format = preset.negotiate(accept: accept) }
        guard let plan = preset.plan(for: form) else { throw preset.unknownVariant(modifiers ?? "") }
        do {
            let original = try ObjectKey(key)
            return RenditionAddress(
                plan: plan, key: original, renditionKey: try ObjectKey("\(form.segment(preset: name))/\(key)"))
        } catch {
            throw RenditionError(.invalidKey, error.message, cause: error)
        }
    }

    /// The address of `preset`'s own rendition of `key` (its base size, in its first format).
    public func address(preset: String, key: String) throws(RenditionError) -> RenditionAddress {
        guard let plan = plans[preset] else { return try address(segment: preset, key: key) }
        return try address(segment: plan.form.segment(preset: preset), key: key)
    }

    /// The stored rendition's metadata, or `nil` on a miss (origin `HEAD`, conditional `GET`). A rendition
    /// made by another version of its preset is a miss too: the render route replaces it.
    public func renditionMetadata(_ address: RenditionAddress) async throws(RenditionError) -> ObjectMetadata? {
        guard let metadata = try await storedMetadata(address) else { return nil }
        return current(metadata, address) ? metadata : nil
    }

    /// The stored rendition, or `nil` on a miss (origin `GET`), stale ones included as for
    /// ``renditionMetadata(_:)``.
    public func rendition(_ address: RenditionAddress) async throws(RenditionError) -> StoredObject? {
        if let kept = recent.object(address.renditionKey) {
            metrics.bytesServed.increment(by: kept.body.count)
            metrics.memoryHits.increment()
            return kept
        }
        do {
            guard let object = try await renditions.get(address.renditionKey, maxBytes: 512 * 1024 * 1024),
                current(object.metadata, address)
            else { return nil }
            metrics.bytesServed.increment(by: object.body.count)
            recent.insert(object, for: address.renditionKey)
            return object
        } catch {
            throw .storage(error, while: "reading the rendition")
        }
    }

    /// What the rendition store holds for the address, current or not.
    private func storedMetadata(_ address: RenditionAddress) async throws(RenditionError) -> ObjectMetadata? {
        if let kept = recent.object(address.renditionKey) { return kept.metadata }
        do {
            return try await renditions.head(address.renditionKey)
        } catch {
            throw .storage(error, while: "looking up the rendition")
        }
    }

    /// Whether a stored rendition was made by the address's plan; counts the ones that were not.
    private func current(_ metadata: ObjectMetadata, _ address: RenditionAddress) -> Bool {
        guard metadata.userMetadata[RenditionMetadataKey.fingerprint] == address.plan.fingerprint else {
            metrics.stale.increment()
            return false
        }
        return true
    }

    /// Makes and stores the rendition unless a current one is stored already (a stale one is replaced).
    /// Concurrent calls for one rendition render once. Never leaves a partial rendition: stores write
    /// atomically.
    /// `deadline`, when given, shortens the configured render timeout (a function's remaining time).
    public func render(_ address: RenditionAddress, deadline: Deadline? = nil) async throws -> RenderOutcome {
        let (outcome, shared) = try await flights.run(address.renditionKey.rawValue) { [self] in
            try await renderOnce(address, deadline: deadline)
        }
        if shared { metrics.sharedRenders.increment() }
        return outcome
    }

    private func renderOnce(_ address: RenditionAddress, deadline requested: Deadline?) async throws -> RenderOutcome {
        let stored = try await storedMetadata(address)
        if let stored, current(stored, address) { return .existing(stored) }
        guard admission.enter() else {
            metrics.refused.increment()
            throw RenditionError(.overloaded, "The service is busy rendering; try again in a few seconds.")
        }
        metrics.admitted.record(admission.current)
        metrics.queued.record(admission.queued)
        defer {
            admission.leave()
            metrics.admitted.record(admission.current)
            metrics.queued.record(admission.queued)
        }
        var deadline = Deadline.after(settings.renderTimeout)
        if let limit = requested?.instant, let own = deadline.instant, limit < own { deadline = Deadline(limit) }
        var timings = RenderTimings()

        var start = ContinuousClock.now
        let original: StoredObject
        do {
            guard let found = try await source.get(address.key, maxBytes: settings.maxInputBytes) else {
                throw RenditionError(.originalNotFound, "No original exists at \"\(address.key)\"; upload it first.")
            }
            original = found
        } catch let error as StorageError where error.code == .tooLarge {
            throw RenditionError(
                .inputTooLarge,
                "The original is over the limit of \(settings.maxInputBytes) bytes; upload a smaller file.",
                cause: error)
        } catch let error as StorageError {
            throw RenditionError.storage(error, while: "reading the original")
        }
        timings.load = .now - start
        metrics.bytesRead.increment(by: original.body.count)
        try deadline.check("after reading the original")

        start = .now
        let result: RenderResult
        do {
            result = try await renderer.render(address.plan, input: original.body, deadline: deadline)
        } catch let error as RenditionError {
            metrics.failures(error.code).increment()
            throw error
        }
        timings.process = .now - start
        metrics.renderDuration.recordNanoseconds(
            Int64(timings.process.components.seconds) * 1_000_000_000 + timings.process.components.attoseconds
                / 1_000_000_000)

        start = .now
        let options = PutOptions(
            contentType: result.mediaType, cacheControl: address.plan.cacheControl,
            userMetadata: [
                RenditionMetadataKey.fingerprint: address.plan.fingerprint,
                RenditionMetadataKey.originalETag: original.metadata.etag,
            ],
            createOnly: stored == nil)
        guard let written = try await store(result.bytes, address, options: options) else {
            if let existing = try await storedMetadata(address) { return .existing(existing) }
            throw RenditionError(.storageFailure, "The rendition vanished while it was stored; try again.")
        }
        // The 301 sends the client (or every CDN edge that asked) straight back for these bytes.
        recent.insert(StoredObject(metadata: written, body: result.bytes), for: address.renditionKey)
        timings.store = .now - start
        metrics.bytesWritten.increment(by: result.bytes.count)
        metrics.renders.increment()
        return .rendered(written, timings)
    }

    /// Stores a rendition, or answers `nil` when another worker (or process) stored a current one first
    /// (same preset, same original, same bytes). A stale one stored meanwhile (a worker still on the old
    /// preset) is replaced.
    private func store(_ bytes: [UInt8], _ address: RenditionAddress, options: PutOptions)
        async throws(RenditionError) -> ObjectMetadata?
    {
        do {
            return try await renditions.put(address.renditionKey, bytes, options: options)
        } catch  where error.code == .alreadyExists {
            if let existing = try await storedMetadata(address), current(existing, address) { return nil }
            var replacing = options
            replacing.createOnly = false
            do {
                return try await renditions.put(address.renditionKey, bytes, options: replacing)
            } catch {
                throw RenditionError.storage(error, while: "storing the rendition")
            }
        } catch {
            throw RenditionError.storage(error, while: "storing the rendition")
        }
    }

    /// Whether both stores answer.
    public func checkReady() async throws(RenditionError) {
        do {
            try await source.checkReachable()
            try await renditions.checkReachable()
        } catch {
            throw .storage(error, while: "checking the stores")
        }
    }
}

/// The service's metrics, made with an injected factory (so several services can run in one process).
struct ServiceMetrics: Sendable {
    let renders: Counter
    let sharedRenders: Counter
    let refused: Counter
    let admitted: Gauge
    let queued: Gauge
    let renderDuration: Timer
    let bytesRead: Counter
    let bytesWritten: Counter
    let bytesServed: Counter
    let memoryHits: Counter
    let stale: Counter
    let failuresByCode: CounterFamily

    init(factory: any MetricsFactory) {
        renders = Counter(label: "rendition_renders_total", factory: factory)
        sharedRenders = Counter(label: "rendition_renders_shared_total", factory: factory)
        refused = Counter(label: "rendition_renders_refused_total", factory: factory)
        admitted = Gauge(label: "rendition_renders_in_flight", factory: factory)
        queued = Gauge(label: "rendition_render_queue_depth", factory: factory)
        renderDuration = Timer(label: "rendition_render_duration_seconds", factory: factory)
        bytesRead = Counter(label: "rendition_original_bytes_read_total", factory: factory)
        bytesWritten = Counter(label: "rendition_rendition_bytes_written_total", factory: factory)
        bytesServed = Counter(label: "rendition_rendition_bytes_served_total", factory: factory)
        memoryHits = Counter(label: "rendition_memory_cache_hits_total", factory: factory)
        stale = Counter(label: "rendition_stale_renditions_total", factory: factory)
        failuresByCode = CounterFamily(label: "rendition_render_failures_total", dimensions: ["code"], factory: factory)
    }

    func failures(_ code: RenditionError.Code) -> Counter {
        failuresByCode.counter(code.rawValue)
    }
}
