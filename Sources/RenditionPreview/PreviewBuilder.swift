public import RenditionCore

/// A preset to preview: its current plan, and in compare mode its base plan and how they differ.
public struct PreviewPreset: Sendable {
    public var name: String
    /// `nil` for a preset that exists only in the base.
    public var current: PipelinePlan?
    /// Compare mode: the base version, for changed and removed presets.
    public var base: PipelinePlan?
    /// Compare mode only.
    public var change: PresetChange?

    public init(name: String, current: PipelinePlan?, base: PipelinePlan? = nil, change: PresetChange? = nil) {
        self.name = name
        self.current = current
        self.base = base
        self.change = change
    }

    /// Every preset of `current` (outside compare mode), sorted by name.
    public static func all(_ current: [String: PipelinePlan]) -> [PreviewPreset] {
        current.keys.sorted().map { PreviewPreset(name: $0, current: current[$0]) }
    }

    /// Compare mode: every preset of either side, sorted by name, with its change. A preset is
    /// `changed` when its plan's fingerprint differs (the fingerprint covers everything that decides the
    /// rendition's bytes).
    public static func compare(current: [String: PipelinePlan], base: [String: PipelinePlan]) -> [PreviewPreset] {
        Set(current.keys).union(base.keys).sorted().map { name in
            let change: PresetChange =
                switch (current[name], base[name]) {
                case (let new?, let old?): new.fingerprint == old.fingerprint ? .unchanged : .changed
                case (_?, nil): .added
                default: .removed
                }
            return PreviewPreset(name: name, current: current[name], base: base[name], change: change)
        }
    }
}

/// A sample original, read whole.
public struct PreviewSample: Sendable {
    /// Its path in the originals folder.
    public var name: String
    public var bytes: [UInt8]

    public init(name: String, bytes: [UInt8]) {
        self.name = name
        self.bytes = bytes
    }
}

/// Renders every preset on every sample and describes the outcome as a ``PreviewReport``, handing each
/// rendition's bytes to a sink (the CLI writes them next to `index.html`).
public struct PreviewBuilder: Sendable {
    public let renderer: Renderer

    public init(renderer: Renderer) { self.renderer = renderer }

    /// Builds the report. Unchanged presets (compare mode) are listed, not rendered. `read` loads a sample
    /// by index (so only the samples being rendered are in memory), `write` stores a rendition at a path
    /// relative to the report, and `progress` hears renders done out of renders to do.
    public func build(
        title: String, presets: [PreviewPreset], sampleCount: Int, base: String? = nil,
        read: @escaping @Sendable (Int) throws -> PreviewSample,
        write: @escaping @Sendable (_ path: String, _ bytes: [UInt8]) throws -> Void,
        progress: @escaping @Sendable (_ done: Int, _ total: Int) -> Void = { _, _ in }
    ) async throws -> PreviewReport {
        let shown = presets.filter { $0.change != .unchanged }
        let columns = shown.map { preset in
            PreviewColumn(
                preset: preset.name, summary: (preset.current ?? preset.base)?.summary,
                format: (preset.current ?? preset.base)?.output.fileExtension ?? "", change: preset.change)
        }
        let rendersPerRow = shown.reduce(0) { $0 + ($1.current == nil ? 0 : 1) + ($1.base == nil ? 0 : 1) }
        let total = rendersPerRow * sampleCount
        progress(0, total)
        var rows = [PreviewRow?](repeating: nil, count: sampleCount)
        var done = 0
        try await withThrowingTaskGroup(of: (Int, PreviewRow).self) { group in
            var next = 0
            func submit() {
                guard next < sampleCount else { return }
                let index = next
                next += 1
                group.addTask { (index, try await row(index, sample: try read(index), presets: shown, write: write)) }
            }
            // One original per render thread at a time: the pool stays busy, memory stays bounded.
            for _ in 0..<max(1, renderer.threadCount) { submit() }
            for try await (index, row) in group {
                rows[index] = row
                done += rendersPerRow
                progress(done, total)
                submit()
            }
        }
        return PreviewReport(
            title: title, columns: columns, rows: rows.compactMap { $0 }, base: base,
            unchanged: presets.filter { $0.change == .unchanged }.map(\.name))
    }

    /// One original through every shown preset, in column order.
    func row(
        _ index: Int, sample: PreviewSample, presets: [PreviewPreset],
        write: @escaping @Sendable (String, [UInt8]) throws -> Void
    ) async throws -> PreviewRow {
        var original = PreviewOriginal(name: sample.name, bytes: sample.bytes.count)
        if let plan = presets.lazy.compactMap({ $0.current ?? $0.base }).first,
            let info = try? await renderer.inspect(sample.bytes, plan: plan)
        {
            original.format = info.format.rawValue
            original.width = info.width
            original.height = info.height
        }
        let hashing = presets.contains { $0.current != nil && $0.base != nil }
        var cells: [PreviewCell] = []
        for preset in presets {
            var cell = PreviewCell(current: nil)
            if let plan = preset.current {
                cell.current = try await outcome(
                    plan, sample.bytes, file: "r\(index)/\(preset.name).", hash: hashing, write: write)
            }
            if let plan = preset.base {
                cell.base = try await outcome(
                    plan, sample.bytes, file: "r\(index)/\(preset.name).base.", hash: hashing, write: write)
            }
            cells.append(cell)
        }
        return PreviewRow(original: original, cells: cells)
    }

    /// Renders, writes and describes one rendition; a refusal becomes a failed outcome, not an error.
    /// The file name is made of the row index and the preset name, never of the original's name.
    func outcome(
        _ plan: PipelinePlan, _ bytes: [UInt8], file stem: String, hash: Bool,
        write: @Sendable (String, [UInt8]) throws -> Void
    ) async throws -> PreviewOutcome {
        let result: RenderResult
        do {
            result = try await renderer.render(plan, input: bytes)
        } catch let error as RenditionError {
            return .failed(code: error.code.rawValue, message: error.message)
        } catch {
            return .failed(code: RenditionError.Code.internal.rawValue, message: "The render failed: \(error)")
        }
        let file = stem + result.fileExtension
        try write(file, result.bytes)
        var digest: DifferenceHash?
        if hash { digest = await DifferenceHash.of(result.bytes) }
        return .rendered(
            PreviewRendition(
                file: file, format: result.fileExtension, width: result.width, height: result.height,
                bytes: result.bytes.count, milliseconds: result.report.totalMilliseconds,
                warnings: result.report.warnings, hash: digest))
    }
}
