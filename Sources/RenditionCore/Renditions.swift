/// The size variants a preset declares under `variants:`. Each is its own rendition, at its own URL.
public struct Variants: Sendable, Hashable {
    /// Output widths, served at `/{preset}@{W}w/{key}`, in the file's order.
    public var widths: [Int] = []
    /// Pixel densities above 1, served at `/{preset}@{D}x/{key}` (density 1 is the base URL).
    public var densities: [Int] = []

    public init(widths: [Int] = [], densities: [Int] = []) {
        self.widths = widths
        self.densities = densities
    }

    /// The most widths a preset may declare, the range of each, and the same for densities: the bounds on
    /// how many renditions one original can cost.
    public static let maxWidths = 16
    public static let widthRange = 1...8192
    public static let maxDensities = 4
    public static let densityRange = 1...4

    /// Every size, the base first.
    public var sizes: [RenditionForm.Size] {
        [.base] + widths.map { .width($0) } + densities.filter { $0 != 1 }.map { .density($0) }
    }
}

/// A format a negotiating preset (`format: auto`) can answer with: its URL token and media type.
public struct OutputFormat: Sendable, Hashable {
    /// The token in stored keys and render URLs, such as `avif`.
    public let token: String
    public let mediaType: String

    public init(token: String, mediaType: String) {
        self.token = token
        self.mediaType = mediaType
    }
}

/// Which rendition of a preset: its size and, for a preset that negotiates its format, the format.
public struct RenditionForm: Sendable, Hashable, CustomStringConvertible {
    public enum Size: Sendable, Hashable {
        /// The preset's own sizes (density 1).
        case base
        /// `@{W}w`: the output width set to W, the preset's other sizes in proportion.
        case width(Int)
        /// `@{D}x`: every size the preset sets multiplied by D.
        case density(Int)

        /// `@400w`, `@2x`, or nothing for the base.
        public var suffix: String {
            switch self {
            case .base: ""
            case .width(let width): "@\(width)w"
            case .density(let density): "@\(density)x"
            }
        }
    }

    public var size: Size
    /// The format token, for a preset that negotiates; `nil` for a fixed format.
    public var format: String?

    public init(size: Size = .base, format: String? = nil) {
        self.size = size
        self.format = format
    }

    /// `@400w@avif`: what follows the preset's name in the rendition's stored key and render URL.
    public var description: String { size.suffix + (format.map { "@" + $0 } ?? "") }

    /// The first path segment of the rendition's stored key: `card@400w@avif`.
    public func segment(preset: String) -> String { preset + description }

    /// The first path segment of its public URL, which carries no format (the client's `Accept` decides it).
    public func publicSegment(preset: String) -> String { preset + size.suffix }

    /// Splits a URL's first segment into the preset's name and what follows its first `@` (preset names
    /// never contain one): `card@400w@avif` → (`card`, `400w@avif`).
    public static func split(_ segment: String) -> (preset: String, modifiers: Substring?) {
        guard let at = segment.firstIndex(of: "@") else { return (segment, nil) }
        return (String(segment[..<at]), segment[segment.index(after: at)...])
    }
}

/// The media types a client's `Accept` names explicitly, for format negotiation.
///
/// Only explicit types count: `image/*`, `*/*`, a missing header or one that does not parse say nothing a
/// client can decode beyond JPEG and PNG (old Safari sends `image/*` and cannot decode WebP). The parse is
/// bounded: a header over ``maxBytes`` or ``maxEntries`` counts as naming nothing.
public enum AcceptHeader {
    public static let maxBytes = 4096
    public static let maxEntries = 64

    /// The lower-cased media types `header` lists with a quality above 0 (no `q` is 1).
    public static func explicitTypes(_ header: String?) -> Set<String> {
        guard let header, header.utf8.count <= maxBytes else { return [] }
        let entries = Array(header.utf8).split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
        guard entries.count <= maxEntries else { return [] }
        var types: Set<String> = []
        for entry in entries {
            let parts = entry.split(separator: UInt8(ascii: ";"), omittingEmptySubsequences: false)
            let type = String(decoding: trimmed(parts[0]), as: UTF8.self).lowercased()
            guard !type.contains("*"), type.contains("/") else { continue }
            var quality: Double? = 1
            for parameter in parts.dropFirst() {
                let pair = parameter.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
                guard pair.count == 2,
                    trimmed(pair[0]).elementsEqual("q".utf8) || trimmed(pair[0]).elementsEqual("Q".utf8)
                else { continue }
                quality = Self.quality(trimmed(pair[1]))
            }
            if let quality, quality > 0 { types.insert(type) }
        }
        return types
    }

    /// An RFC 9110 qvalue (`0`, `0.5`, `1.000`), or `nil` when malformed.
    static func quality(_ text: ArraySlice<UInt8>) -> Double? {
        guard let first = text.first, first == UInt8(ascii: "0") || first == UInt8(ascii: "1") else { return nil }
        let rest = text.dropFirst()
        if rest.isEmpty { return first == UInt8(ascii: "1") ? 1 : 0 }
        guard rest.first == UInt8(ascii: "."), rest.count <= 4 else { return nil }
        let digits = rest.dropFirst()
        guard digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { return nil }
        if first == UInt8(ascii: "1") { return digits.allSatisfy { $0 == UInt8(ascii: "0") } ? 1 : nil }
        return Double("0." + String(decoding: digits, as: UTF8.self)) ?? 0
    }

    private static func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        let space: (UInt8) -> Bool = { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
        guard let start = bytes.firstIndex(where: { !space($0) }), let end = bytes.lastIndex(where: { !space($0) })
        else { return [] }
        return bytes[start...end]
    }
}

extension PipelinePlan {
    /// Whether the preset chooses its format per request (`format: auto`).
    public var negotiates: Bool { !formats.isEmpty }

    /// The format token for a client whose `Accept` is `accept`: the first of the preset's formats that the
    /// client names explicitly, in the preset's order (not the header's), else the last one, which every
    /// client decodes. `nil` for a preset with one fixed format.
    public func negotiate(accept: String?) -> String? {
        guard let last = formats.last else { return nil }
        let accepted = AcceptHeader.explicitTypes(accept)
        return formats.dropLast().first { accepted.contains($0.mediaType) }?.token ?? last.token
    }

    /// The plan of `form`, or `nil` when the preset does not declare it.
    public func plan(for form: RenditionForm) -> PipelinePlan? {
        form == self.form ? self : forms[form]
    }

    /// Every rendition the preset can produce: each size (base, widths, densities), each in every format.
    public var allForms: [PipelinePlan] {
        variants.sizes.flatMap { size in
            (negotiates ? formats.map { Optional($0.token) } : [nil]).compactMap {
                plan(for: RenditionForm(size: size, format: $0))
            }
        }
    }

    /// The form a URL's modifiers (what follows the preset's name and its `@`, such as `400w` or `2x@avif`)
    /// name, with the format left `nil` for the caller to negotiate when the URL names none. Throws
    /// `unknown_variant` for anything the preset does not declare: a width or density not listed, `@1x`
    /// (the base URL has none), a format of a fixed-format preset, or a malformed or repeated modifier.
    public func form(modifiers: Substring?) throws(RenditionError) -> RenditionForm {
        var form = RenditionForm()
        guard let modifiers else { return form }
        let parts = modifiers.split(separator: "@", omittingEmptySubsequences: false)
        for (index, part) in parts.enumerated() {
            if formats.contains(where: { $0.token == part }), form.format == nil, index == parts.count - 1 {
                form.format = String(part)
            } else if index == 0, let size = Self.size(part) {
                form.size = size
            } else {
                throw unknownVariant(modifiers)
            }
        }
        if form.size != .base, !variants.sizes.contains(form.size) { throw unknownVariant(modifiers) }
        return form
    }

    /// `400w` or `2x` as a size, `nil` for anything else (leading zeros, signs and decimals included).
    static func size(_ text: Substring) -> RenditionForm.Size? {
        guard let unit = text.last, text.count >= 2, text.count <= 6, let first = text.first, first != "0",
            text.dropLast().allSatisfy({ ("0"..."9").contains($0) }), let value = Int(text.dropLast())
        else { return nil }
        switch unit {
        case "w": return .width(value)
        case "x": return .density(value)
        default: return nil
        }
    }

    /// The `unknown_variant` error for `@{modifiers}`, listing what the preset declares.
    public func unknownVariant(_ modifiers: Substring) -> RenditionError {
        let declared = variants.sizes.map { "/\(name)\($0.suffix)/{key}" }.joined(separator: ", ")
        return RenditionError(
            .unknownVariant,
            "\"\(name)@\(modifiers)\" is not a rendition of \(name); it declares \(declared). Add the size under variants: in its pipeline file, or link to one of these."
        )
    }
}
