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
    /// `changed` when any of its forms renders differently: a form's fingerprint differs (the fingerprint
    /// covers everything that decides the rendition's bytes), or a form appeared or disappeared, so a change
    /// to one candidate format or one size variant is reviewed too, not only one to the preset's own form.
    public static func compare(current: [String: PipelinePlan], base: [String: PipelinePlan]) -> [PreviewPreset] {
        Set(current.keys).union(base.keys).sorted().map { name in
            let change: PresetChange =
                switch (current[name], base[name]) {
                case (let new?, let old?): signature(new) == signature(old) ? .unchanged : .changed
                case (_?, nil): .added
                default: .removed
                }
            return PreviewPreset(name: name, current: current[name], base: base[name], change: change)
        }
    }

    /// Every form of `plan` with its fingerprint, in order (the preset's own form first).
    static func signature(_ plan: PipelinePlan) -> [String] {
        [plan.form.description + "=" + plan.fingerprint]
            + plan.allForms.filter { $0.form != plan.form }.map { $0.form.description + "=" + $0.fingerprint }
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

    /// Builds the report. Unchanged presets (compare mode) are listed, not rendered. With `forms`, every
    /// form of a preset (each size variant in each candidate format, as ``PipelinePlan/allForms`` lists
    /// them) is rendered beside its own; without, only its own. `read` loads a sample by index (so only the
    /// samples being rendered are in memory), `write` stores a rendition at a path relative to the report,
    /// and `progress` hears renders done out of renders to do.
    ///
    /// The work is bounded: originals × forms, and a preset declares at most
    /// ``Variants/maxWidths`` + ``Variants/maxDensities`` sizes in a handful of formats.
    public func build(
        title: String, presets: [PreviewPreset], sampleCount: Int, base: String? = nil, forms: Bool = true,
        read: @escaping @Sendable (Int) throws -> PreviewSample,
        write: @escaping @Sendable (_ path: String, _ bytes: [UInt8]) throws -> Void,
        progress: @escaping @Sendable (_ done: Int, _ total: Int) -> Void = { _, _ in }
    ) async throws -> PreviewReport {
        let shown = presets.filter { $0.change != .unchanged }.map { ShownPreset($0, forms: forms) }
        let columns = shown.map(\.column)
        let rendersPerRow = shown.reduce(0) { $0 + $1.renders }
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

    /// A preset the report renders, with the other forms it renders of it.
    struct ShownPreset: Sendable {
        var preset: PreviewPreset
        var column: PreviewColumn
        /// The current version's other forms, each with the base version's plan when that renders the
        /// form differently (compare mode).
        var others: [(plan: PipelinePlan, base: PipelinePlan?, change: PresetChange?)]

        init(_ preset: PreviewPreset, forms: Bool) {
            self.preset = preset
            let plan = (preset.current ?? preset.base)!
            var others: [(plan: PipelinePlan, base: PipelinePlan?, change: PresetChange?)] = []
            var removed: [RenditionForm] = []
            if forms, let current = preset.current {
                for form in current.allForms where form.form != current.form {
                    guard let old = preset.base else {
                        others.append((form, nil, nil))
                        continue
                    }
                    switch old.plan(for: form.form) {
                    case nil: others.append((form, nil, .added))
                    case let before? where before.fingerprint != form.fingerprint:
                        others.append((form, before, .changed))
                    default: others.append((form, nil, .unchanged))
                    }
                }
                if let old = preset.base {
                    removed = old.allForms.map(\.form).filter { current.plan(for: $0) == nil }
                }
            }
            self.others = others
            column = PreviewColumn(
                preset: preset.name, summary: plan.summary, format: plan.output.fileExtension, change: preset.change,
                forms: [plan.form] + others.map(\.plan.form), formats: plan.formats.map(\.token), removedForms: removed)
        }

        /// Renders per original.
        var renders: Int {
            (preset.current == nil ? 0 : 1) + (preset.base == nil ? 0 : 1) + others.count
                + others.filter { $0.base != nil }.count
        }
    }

    /// One original through every shown preset, in column order.
    func row(
        _ index: Int, sample: PreviewSample, presets: [ShownPreset],
        write: @escaping @Sendable (String, [UInt8]) throws -> Void
    ) async throws -> PreviewRow {
        var original = PreviewOriginal(name: sample.name, bytes: sample.bytes.count)
        if let plan = presets.lazy.compactMap({ $0.preset.current ?? $0.preset.base }).first,
            let info = try? await renderer.inspect(sample.bytes, plan: plan)
        {
            original.format = info.format.rawValue
            original.width = info.width
            original.height = info.height
        }
        let hashing = presets.contains { $0.preset.current != nil && $0.preset.base != nil }
        var cells: [PreviewCell] = []
        for shown in presets {
            let preset = shown.preset
            var cell = PreviewCell(current: nil)
            if let plan = preset.current {
                cell.current = try await outcome(
                    plan, sample.bytes, file: "r\(index)/\(preset.name).", hash: hashing, write: write)
            }
            if let plan = preset.base {
                cell.base = try await outcome(
                    plan, sample.bytes, file: "r\(index)/\(preset.name).base.", hash: hashing, write: write)
            }
            for other in shown.others {
                // `card@800w@webp.webp`: the rendition's stored-key segment, never the original's name.
                let stem = "r\(index)/\(other.plan.form.segment(preset: preset.name))."
                var form = PreviewForm(
                    form: other.plan.form,
                    outcome: try await outcome(other.plan, sample.bytes, file: stem, hash: false, write: write),
                    change: other.change)
                if let before = other.base {
                    form.base = try await outcome(before, sample.bytes, file: stem + "base.", hash: false, write: write)
                }
                cell.forms.append(form)
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
