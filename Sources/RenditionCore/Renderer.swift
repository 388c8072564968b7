internal import Failures
internal import NIOCore
internal import NIOPosix
internal import Synchronization
internal import Vips

#if canImport(Glibc)
    internal import Glibc
#endif

/// Service-wide limits on the input of a render.
public struct InputLimits: Sendable, Hashable {
    /// The most bytes an original may have. Default 50 MiB.
    public var maxInputBytes: Int

    public init(maxInputBytes: Int = 50 * 1024 * 1024) {
        self.maxInputBytes = maxInputBytes
    }
}

/// Which scans of a progressive JPEG a decode at 1/8 scale reads (see `JPEGScans`).
public enum ScanSkipping: String, Sendable, CaseIterable, Codable {
    /// Every scan, as libjpeg would.
    case none
    /// Not the AC scans of components libjpeg computes from their DC coefficients alone: the same pixels.
    /// The default.
    case unread
    /// Those, and the subsampled chroma's AC scans whenever the chroma DC coefficients alone have as many
    /// samples as the output's chroma. Not the default: measured on the benchmark's 4:2:0 wallpaper (400 px
    /// WebP), it lowers the rendition's SSIM against a full-resolution reference from 0.8287 to 0.8182 (its
    /// chroma's from 0.870 to 0.857; luma's barely moves), for a decode-time gain within the noise.
    case chroma
}

/// A finished rendition and how it was made.
public struct RenderResult: Sendable {
    public let bytes: [UInt8]
    public let mediaType: String
    public let fileExtension: String
    public let width: Int
    public let height: Int
    public let report: RenderReport
}

/// What happened during one render, for `rendition plan --input`, logs and `Server-Timing`.
public struct RenderReport: Sendable, Codable {
    /// One transform's outcome. libvips is lazy, so a transform's time is the time to set it up (smart
    /// crop excepted); decoding and resampling happen during encode.
    public struct Step: Sendable, Codable {
        public let name: String
        public let width: Int
        public let height: Int
        public let milliseconds: Double
    }

    public let input: InputInfo
    /// The shrink-on-load factor the decoder used (1 = full resolution).
    public let shrinkOnLoad: Int
    /// The decoded size after shrink-on-load.
    public let loadedWidth: Int
    public let loadedHeight: Int
    public let steps: [Step]
    /// Header read and decoder set-up.
    public let loadMilliseconds: Double
    /// Pixel computation and encoding.
    public let encodeMilliseconds: Double
    public let totalMilliseconds: Double
    public let notes: [String]
    /// The notes that flag a rendition that differs from what the preset asks (a subset of ``notes``).
    public let warnings: [RenderWarning]
    /// CPU per phase, for a render made with ``Renderer/profile(_:input:)``; empty otherwise.
    public var phases: [Phase] = []

    /// One phase of a profiled render and the CPU it took (every thread of the process).
    public struct Phase: Sendable, Codable {
        public let name: String
        public let cpuMilliseconds: Double
    }
}

/// Runs plans on inputs, each render as one job on a dedicated thread pool (never on Swift's
/// cooperative pool, since libvips blocks).
public final class Renderer: Sendable {
    private let pool: NIOThreadPool
    /// Threads in the pool: renders that can run at once.
    public let threadCount: Int
    public let limits: InputLimits
    /// Which scans of progressive JPEGs decodes at 1/8 scale skip.
    public let scanSkipping: ScanSkipping

    /// One render thread per core.
    public static var defaultThreadCount: Int { System.coreCount }

    /// Starts libvips (once per process) and `threads` render threads (default: one per core).
    /// `scanSkipping` other than the default is for measuring what skipping saves (`make bench`).
    public init(threads: Int? = nil, limits: InputLimits = InputLimits(), scanSkipping: ScanSkipping = .unread)
        throws
    {
        do {
            try VipsRuntime.start()
        } catch {
            throw RenditionError(.internal, "libvips could not start; check that libvips is installed.", cause: error)
        }
        self.threadCount = max(1, threads ?? System.coreCount)
        self.limits = limits
        self.scanSkipping = scanSkipping
        self.pool = NIOThreadPool(numberOfThreads: threadCount)
        pool.start()
    }

    /// Jobs running or queued on the pool: the last one out trims the allocator.
    private let activeJobs = Atomic<Int>(0)

    /// Runs `job` on the pool, ending libvips' per-thread state after it and, when no other job is left,
    /// returning freed memory to the system so an idle server shrinks back after a burst.
    private func run<T: Sendable>(_ job: @escaping @Sendable () throws -> T) async throws -> T {
        activeJobs.add(1, ordering: .relaxed)
        do {
            return try await pool.runIfActive { [self] in
                defer {
                    VipsRuntime.endJob()
                    finishJob()
                }
                return try job()
            }
        } catch let error as NIOThreadPoolError.ThreadPoolInactive {
            finishJob()
            throw error
        }
    }

    private func finishJob() {
        if activeJobs.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
            VipsRuntime.releaseFreedMemory()
        }
    }

    /// Stops the pool once queued renders are done.
    public func shutdown() async throws {
        try await pool.shutdownGracefully()
    }

    /// Renders `input` with `plan`. Throws ``RenditionError``.
    public func render(_ plan: PipelinePlan, input: [UInt8], deadline: Deadline = .none) async throws -> RenderResult {
        let (limits, scanSkipping) = (limits, scanSkipping)
        return try await run {
            try RenderJob(plan: plan, limits: limits, deadline: deadline, scanSkipping: scanSkipping).run(input)
        }
    }

    /// Renders `input` with `plan` phase by phase, each computed into memory before the next starts, and
    /// reports the CPU each took in ``RenderReport/phases``: header, scan rewrite, decode, each stage, colour
    /// (the output's colour space, alpha and metadata), encode. The output is the same as ``render(_:input:deadline:)``'s;
    /// the CPU in all is a little more (nothing is computed lazily), so run it alone: the clock counts
    /// every thread of the process.
    public func profile(_ plan: PipelinePlan, input: [UInt8]) async throws -> RenderResult {
        let (limits, scanSkipping) = (limits, scanSkipping)
        return try await run {
            var job = RenderJob(plan: plan, limits: limits, deadline: .none, scanSkipping: scanSkipping)
            job.clock = PhaseClock()
            return try job.run(input)
        }
    }

    /// Reads what the header of `input` says, without decoding pixels.
    public func inspect(_ input: [UInt8], plan: PipelinePlan) async throws -> InputInfo {
        let limits = limits
        return try await run { try RenderJob(plan: plan, limits: limits, deadline: .none).open(input).info }
    }
}

/// One render, start to finish, on the calling thread.
struct RenderJob {
    let plan: PipelinePlan
    let limits: InputLimits
    let deadline: Deadline
    var scanSkipping = ScanSkipping.unread
    /// Set for a profiled render: every phase is then computed into memory and timed.
    var clock: PhaseClock?

    /// Sniffs, wraps and reads the header of `bytes`, refusing what must never be decoded.
    func open(_ bytes: [UInt8]) throws(RenditionError) -> (input: VipsInput, header: VipsImage, info: InputInfo) {
        guard bytes.count <= limits.maxInputBytes else {
            throw RenditionError(
                .inputTooLarge,
                "The original is \(bytes.count) bytes, over the limit of \(limits.maxInputBytes); upload a smaller file."
            )
        }
        let format: InputFormat
        switch SniffResult(bytes) {
        case .supported(let found): format = found
        case .empty:
            throw RenditionError(
                .unsupportedFormat,
                "The original is empty (0 bytes); upload a JPEG, PNG, WebP, GIF, HEIF/AVIF or TIFF image.")
        case .refused(let kind):
            throw RenditionError(
                .unsupportedFormat,
                "The original is \(kind), not an accepted image; upload a JPEG, PNG, WebP, GIF, HEIF/AVIF or TIFF image."
            )
        case .unknown:
            throw RenditionError(
                .unsupportedFormat,
                "The original is not a recognised image; upload a JPEG, PNG, WebP, GIF, HEIF/AVIF or TIFF image.")
        }
        let input = VipsInput(bytes: bytes, format: format)
        let header: VipsImage
        do {
            header = try VipsImage.load(input, failOn: plan.hints.failOn)
        } catch {
            throw Self.translate(error, during: "reading the header")
        }
        let info = InputInfo(
            format: format, width: header.width, height: header.height, orientation: header.orientation,
            pages: header.pageCount, byteCount: bytes.count)
        return (input, header, info)
    }

    func run(_ bytes: [UInt8]) throws(RenditionError) -> RenderResult {
        let start = ContinuousClock.now
        let (input, header, info) = try open(bytes)
        clock?.lap("header")
        // Refuse decompression bombs on the header's word, before a single pixel is decoded.
        let (width, height) =
            info.width.multipliedReportingOverflow(by: info.height).overflow
            ? (Int.max, 1) : (info.width, info.height)
        guard width * height <= plan.maxInputPixels else {
            throw RenditionError(
                .tooManyPixels,
                "The original declares \(info.width)×\(info.height) pixels, over this preset's limit of \(Quantity.describe(count: plan.maxInputPixels)); upload a smaller image."
            )
        }
        try deadline.check("before decoding")

        let prediction = plan.predict(for: info)
        let shrink = prediction.shrink
        let decoded = decodeInput(bytes, opened: input, shrink: shrink, scale: prediction.steps.last?.scale ?? 1)
        if decoded !== input { clock?.lap("scan rewrite") }
        // Rotations and vertical flips read rows out of order; a streaming decoder cannot serve that.
        let reordering = plan.transforms.contains { type(of: $0.stage).role == .orientation } && info.orientation > 2
        let access: Access = plan.hints.randomAccess || reordering ? .random : .sequential
        var loaded: VipsImage
        do {
            loaded =
                shrink == 1 && access == .sequential
                ? header : try VipsImage.load(decoded, shrink: shrink, failOn: plan.hints.failOn, access: access)
        } catch {
            throw Self.translate(error, during: "opening the decoder")
        }
        if clock != nil { try materialise(&loaded, phase: "decode", input: decoded, shrink: shrink) }
        let loadScale = Double(loaded.width) / Double(max(1, info.width))
        let context = StageContext(deadline: deadline, input: info, resolutionScale: loadScale)
        let loadMilliseconds = (ContinuousClock.now - start).milliseconds

        var image = loaded
        var steps: [RenderReport.Step] = []
        for transform in plan.transforms {
            let name = transform.step.name
            try deadline.check("before \(name)")
            let stepStart = ContinuousClock.now
            do {
                image = try transform.stage.apply(to: image, context: context)
            } catch {
                throw diagnose(error, during: name, input: decoded, shrink: shrink)
            }
            if clock != nil { try materialise(&image, phase: name, input: decoded, shrink: shrink) }
            steps.append(
                .init(
                    name: name, width: image.width, height: image.height,
                    milliseconds: (ContinuousClock.now - stepStart).milliseconds))
        }
        try deadline.check("before encoding")
        let encodeStart = ContinuousClock.now
        let bytes: [UInt8]
        do {
            if clock != nil {
                image = try plan.output.prepare(image, context: context)
                try materialise(&image, phase: "colour", input: decoded, shrink: shrink)
            }
            bytes = try plan.output.encode(image, context: context)
            clock?.lap("encode")
        } catch {
            throw diagnose(error, during: "encoding", input: decoded, shrink: shrink)
        }
        let end = ContinuousClock.now
        var report = RenderReport(
            input: info, shrinkOnLoad: shrink, loadedWidth: loaded.width, loadedHeight: loaded.height, steps: steps,
            loadMilliseconds: loadMilliseconds, encodeMilliseconds: (end - encodeStart).milliseconds,
            totalMilliseconds: (end - start).milliseconds, notes: context.notes, warnings: context.warnings)
        report.phases = clock?.phases ?? []
        return RenderResult(
            bytes: bytes, mediaType: plan.output.mediaType, fileExtension: plan.output.fileExtension,
            width: image.width, height: image.height, report: report)
    }

    /// `image` replaced by its pixels computed into memory, and the CPU that took recorded as `phase`
    /// (profiled renders only). The lap comes after the lazy image is released, so freeing the decoder's
    /// buffers (a progressive JPEG's coefficients: tens of megabytes) counts as decoding.
    func materialise(_ image: inout VipsImage, phase: String, input: VipsInput, shrink: Int) throws(RenditionError) {
        do {
            image = try image.copiedToMemory()
            clock?.lap(phase)
        } catch {
            throw diagnose(error, during: phase, input: input, shrink: shrink)
        }
    }

    /// What the decoder reads: `opened`, or for a progressive JPEG decoded at 1/8 its bytes without the AC
    /// scans that decode does not use (see `JPEGScans`), which libjpeg would otherwise entropy-decode.
    func decodeInput(_ bytes: [UInt8], opened: VipsInput, shrink: Int, scale: Double) -> VipsInput {
        guard shrink == 8, opened.format == .jpeg, scanSkipping != .none else { return opened }
        let chromaDensity = scanSkipping == .chroma ? scale * plan.output.chromaResolution : nil
        guard let skipped = JPEGScans.skippingUnreadACScans(in: bytes, chromaDensity: chromaDensity) else {
            return opened
        }
        return VipsInput(bytes: skipped, format: .jpeg)
    }

    /// Explains a failure that happened while pixels were computed. libvips' error buffer is one per
    /// process, so with renders running in parallel a failure's message can be missing, or be another
    /// job's ("killed", "premature end") — its text decides nothing here. The deadline and a second, plain
    /// decode of the input decide: past the deadline it is a timeout; an input that does not decode on its
    /// own is corrupt; otherwise the fault is ours.
    func diagnose(_ error: any Error, during activity: String, input: VipsInput, shrink: Int) -> RenditionError {
        if let error = error as? RenditionError { return error }
        let cause = Self.cause(error)
        if let remaining = deadline.remaining, remaining <= .zero {
            return RenditionError(
                .deadlineExceeded,
                "The render ran out of time while \(activity); try again later or use a smaller original.",
                cause: cause)
        }
        do {
            _ = try VipsImage.load(input, shrink: shrink, failOn: plan.hints.failOn).average()
        } catch {
            return RenditionError(
                .corruptImage, "The original could not be decoded (corrupt or truncated); upload an intact image.",
                cause: cause)
        }
        return RenditionError(.internal, "The render failed while \(activity).", cause: cause)
    }

    /// A failure to open the decoder: the loader refused the input's header, so the input is corrupt.
    static func translate(_ error: any Error, during activity: String) -> RenditionError {
        if let error = error as? RenditionError { return error }
        return RenditionError(
            .corruptImage,
            "The original could not be decoded while \(activity) (corrupt or truncated); upload an intact image.",
            cause: cause(error))
    }

    /// `error` as a log-only cause: libvips' own error as it is, anything else by its description.
    static func cause(_ error: any Error) -> any Error & Sendable {
        (error as? VipsError) ?? DescribedError(error)
    }
}

/// Process CPU time between the laps of a profiled render.
public final class PhaseClock {
    public private(set) var phases: [RenderReport.Phase] = []
    private var last = PhaseClock.now()

    public init() {}

    /// Records the CPU since the last lap (or since this clock started) as phase `name`.
    public func lap(_ name: String) {
        let now = Self.now()
        phases.append(.init(name: name, cpuMilliseconds: (now - last) * 1e3))
        last = now
    }

    /// CPU seconds of every thread of the process: libvips computes on threads of its own.
    public static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}

extension Duration {
    /// The duration in milliseconds, as a decimal.
    public var milliseconds: Double {
        Double(components.seconds) * 1_000 + Double(components.attoseconds) / 1e15
    }
}
