public import RenditionCore

/// What `rendition preview` found: one row per original, one column per preset, and in each cell what
/// the preset made of the original (and, in compare mode, what the base version of the preset made).
///
/// A plain value: built by ``PreviewBuilder``, turned into a page by ``PreviewPage``, checked by tests.
public struct PreviewReport: Sendable {
    public var title: String
    public var columns: [PreviewColumn]
    public var rows: [PreviewRow]
    /// The base the presets were compared against (a git ref or a folder), or `nil` outside compare mode.
    public var base: String?
    /// In compare mode, the presets whose plans did not change (left out of the grid).
    public var unchanged: [String]
    /// Pipeline files that did not plan, as `file:line:column: …` lines.
    public var problems: [String]

    public init(
        title: String, columns: [PreviewColumn], rows: [PreviewRow], base: String? = nil, unchanged: [String] = [],
        problems: [String] = []
    ) {
        self.title = title
        self.columns = columns
        self.rows = rows
        self.base = base
        self.unchanged = unchanged
        self.problems = problems
    }

    /// Every badge of every cell and of its other forms, for a summary line and for exit statuses.
    public var badgeCount: Int {
        rows.reduce(0) {
            $0 + $1.cells.reduce(0) { $0 + $1.badges.count + $1.forms.reduce(0) { $0 + $1.badges.count } }
        }
    }

    /// Every rendition rendered for the report (other forms and compare mode's base versions included).
    public var renditionCount: Int {
        rows.reduce(0) { total, row in
            total
                + row.cells.reduce(0) { count, cell in
                    count + (cell.current?.rendition == nil ? 0 : 1) + (cell.base?.rendition == nil ? 0 : 1)
                        + cell.forms.reduce(0) {
                            $0 + ($1.outcome.rendition == nil ? 0 : 1) + ($1.base?.rendition == nil ? 0 : 1)
                        }
                }
        }
    }
}

/// How a preset differs from its base version.
public enum PresetChange: String, Sendable, Hashable, CaseIterable {
    /// The plan's fingerprint differs: its renditions can differ.
    case changed
    /// The preset is new.
    case added
    /// The preset exists only in the base.
    case removed
    /// Same fingerprint: same renditions.
    case unchanged
}

/// One preset.
public struct PreviewColumn: Sendable, Hashable {
    public var preset: String
    public var summary: String?
    /// The output format's file extension (`webp`, `jpg`), of the current plan (else the base's).
    public var format: String
    /// Compare mode only: how the preset changed.
    public var change: PresetChange?
    /// Every form the report shows of the preset, its own (base size, first format) first, then each size
    /// in every format as ``PipelinePlan/allForms`` orders them; just the base form for a preset with one.
    public var forms: [RenditionForm]
    /// The format tokens a negotiating preset chooses from, best first, the fallback last; empty for a
    /// preset with one fixed format.
    public var formats: [String]
    /// Compare mode: forms the base version declared that the current one no longer does.
    public var removedForms: [RenditionForm]

    public init(
        preset: String, summary: String?, format: String, change: PresetChange? = nil,
        forms: [RenditionForm] = [RenditionForm()], formats: [String] = [], removedForms: [RenditionForm] = []
    ) {
        self.preset = preset
        self.summary = summary
        self.format = format
        self.change = change
        self.forms = forms
        self.formats = formats
        self.removedForms = removedForms
    }

    /// Whether the preset has forms beyond its own: size variants or candidate formats.
    public var hasForms: Bool { forms.count > 1 }

    /// The sizes the forms come in, the base first, each once.
    public var sizes: [RenditionForm.Size] {
        var sizes: [RenditionForm.Size] = []
        for form in forms where !sizes.contains(form.size) { sizes.append(form.size) }
        return sizes
    }

    /// The format every client decodes (the last candidate), the one other formats are measured against.
    public var fallback: String? { formats.last }
}

/// One original and its cells, in column order.
public struct PreviewRow: Sendable {
    public var original: PreviewOriginal
    public var cells: [PreviewCell]

    public init(original: PreviewOriginal, cells: [PreviewCell]) {
        self.original = original
        self.cells = cells
    }
}

/// A sample original.
public struct PreviewOriginal: Sendable, Hashable {
    /// Its path in the originals folder (shown, never used as a file name in the report).
    public var name: String
    public var bytes: Int
    /// From the header; `nil` when the file is not a readable image.
    public var format: String?
    public var width: Int?
    public var height: Int?

    public init(name: String, bytes: Int, format: String? = nil, width: Int? = nil, height: Int? = nil) {
        self.name = name
        self.bytes = bytes
        self.format = format
        self.width = width
        self.height = height
    }
}

/// What one preset made of one original: the rendition or the refusal.
public enum PreviewOutcome: Sendable, Hashable {
    case rendered(PreviewRendition)
    case failed(code: String, message: String)

    public var rendition: PreviewRendition? {
        if case .rendered(let rendition) = self { return rendition }
        return nil
    }
}

/// A rendition written into the report folder.
public struct PreviewRendition: Sendable, Hashable {
    /// Its path relative to `index.html` (made of indexes and preset names, never of original names).
    public var file: String
    /// `webp`, `jpg`, …
    public var format: String
    public var width: Int
    public var height: Int
    public var bytes: Int
    /// Wall-clock time of the render, from header read to encoded bytes.
    public var milliseconds: Double
    /// Ways the rendition differs from what the preset asks, such as an `enlarge: false` clamp.
    public var warnings: [RenderWarning]
    /// How it looks, for perceptual distances in compare mode.
    public var hash: DifferenceHash?

    public init(
        file: String, format: String, width: Int, height: Int, bytes: Int, milliseconds: Double,
        warnings: [RenderWarning] = [],
        hash: DifferenceHash? = nil
    ) {
        self.file = file
        self.format = format
        self.width = width
        self.height = height
        self.bytes = bytes
        self.milliseconds = milliseconds
        self.warnings = warnings
        self.hash = hash
    }
}

/// One cell of the grid.
public struct PreviewCell: Sendable, Hashable {
    /// The current preset's outcome; `nil` when the preset was removed (compare mode).
    public var current: PreviewOutcome?
    /// The base preset's outcome, in compare mode for changed and removed presets.
    public var base: PreviewOutcome?

    /// The preset's other forms (size variants, other candidate formats), in the column's order; empty
    /// for a preset with one form, or when the report renders only each preset's own form.
    public var forms: [PreviewForm]

    public init(current: PreviewOutcome?, base: PreviewOutcome? = nil, forms: [PreviewForm] = []) {
        self.current = current
        self.base = base
        self.forms = forms
    }

    /// The current outcome of `form` in `column`: the cell's own rendition for the column's first form.
    public func outcome(_ form: RenditionForm, in column: PreviewColumn) -> PreviewOutcome? {
        form == column.forms.first ? current : forms.first { $0.form == form }?.outcome
    }

    /// `form`'s bytes as a fraction of the fallback format's at the same size (0.54 = 54 % of JPEG's);
    /// `nil` for a fixed-format preset, for the fallback itself, or when either did not render.
    public func shareOfFallback(_ form: RenditionForm, in column: PreviewColumn) -> Double? {
        guard let fallback = column.fallback, form.format != fallback,
            let bytes = outcome(form, in: column)?.rendition?.bytes,
            let reference = outcome(RenditionForm(size: form.size, format: fallback), in: column)?.rendition?.bytes,
            reference > 0
        else { return nil }
        return Double(bytes) / Double(reference)
    }

    /// Warnings about the current rendition (else the base's, for a removed preset).
    public var badges: [Badge] { Badge.badges(for: current ?? base) }

    /// The rendition's size as a fraction of the original's (0.08 = 8 % of the bytes).
    public func compressionRatio(original: PreviewOriginal) -> Double? {
        guard let rendition = current?.rendition, original.bytes > 0 else { return nil }
        return Double(rendition.bytes) / Double(original.bytes)
    }

    /// Compare mode: bytes of the new rendition minus bytes of the old one.
    public var byteDifference: Int? {
        guard let new = current?.rendition, let old = base?.rendition else { return nil }
        return new.bytes - old.bytes
    }

    /// Compare mode: differing bits between the old and new renditions' difference hashes (0–64).
    public var perceptualDistance: Int? {
        guard let new = current?.rendition?.hash, let old = base?.rendition?.hash else { return nil }
        return new.distance(to: old)
    }
}

/// One of a preset's other forms (a size variant, another candidate format) and what it made of an original.
public struct PreviewForm: Sendable, Hashable {
    public var form: RenditionForm
    public var outcome: PreviewOutcome
    /// Compare mode: how the form differs from the base version's form of the same name (`changed` when
    /// its plan's fingerprint differs, `added` when the base did not declare it, `unchanged` otherwise).
    public var change: PresetChange?
    /// Compare mode: the base version's rendition, for a changed form.
    public var base: PreviewOutcome?

    public init(form: RenditionForm, outcome: PreviewOutcome, change: PresetChange? = nil, base: PreviewOutcome? = nil)
    {
        self.form = form
        self.outcome = outcome
        self.change = change
        self.base = base
    }

    /// Warnings about this form's rendition, such as a width variant `enlarge: false` held back.
    public var badges: [Badge] { Badge.badges(for: outcome) }

    /// Compare mode: bytes of this form's rendition minus the base version's.
    public var byteDifference: Int? {
        guard let new = outcome.rendition, let old = base?.rendition else { return nil }
        return new.bytes - old.bytes
    }
}

/// A warning shown on a cell.
public struct Badge: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        /// The output is smaller than asked, because of `enlarge: false`.
        case clamp
        /// A limit refused the original (pixels, bytes).
        case limit
        /// The render failed for another reason (not an image, corrupt, …).
        case failed
        /// Any other warning of the render.
        case note
    }

    public var kind: Kind
    /// A few words on the badge.
    public var label: String
    /// The whole explanation.
    public var detail: String

    public init(kind: Kind, label: String, detail: String) {
        self.kind = kind
        self.label = label
        self.detail = detail
    }

    /// Error codes that mean a limit applied, rather than a broken original.
    public static let limitCodes: Set<String> = ["too_many_pixels", "input_too_large", "deadline_exceeded"]

    /// The badges an outcome earns: one per note of a rendition, or one for a failure.
    public static func badges(for outcome: PreviewOutcome?) -> [Badge] {
        switch outcome {
        case nil:
            return []
        case .failed(let code, let message):
            return limitCodes.contains(code)
                ? [Badge(kind: .limit, label: "limit: \(code)", detail: message)]
                : [Badge(kind: .failed, label: code, detail: message)]
        case .rendered(let rendition):
            return rendition.warnings.map { warning in
                warning.kind == .enlargeClamped
                    ? Badge(kind: .clamp, label: "enlarge: false", detail: warning.message)
                    : Badge(kind: .note, label: warning.kind.rawValue, detail: warning.message)
            }
        }
    }
}
