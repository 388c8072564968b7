/// The image formats Rendition decodes. Anything else is refused before libvips sees a byte.
public enum InputFormat: String, Sendable, CaseIterable, Codable {
    case jpeg, png, webp, gif, heif, tiff

    /// The MIME type of the format.
    public var mediaType: String {
        switch self {
        case .jpeg: "image/jpeg"
        case .png: "image/png"
        case .webp: "image/webp"
        case .gif: "image/gif"
        case .heif: "image/heif"
        case .tiff: "image/tiff"
        }
    }

    /// Whether the decoder can shrink while decoding (JPEG DCT scaling, WebP scaled decode).
    public var supportsShrinkOnLoad: Bool { self == .jpeg || self == .webp }
}

/// What the first bytes of an input say it is, decided from magic numbers alone.
public enum SniffResult: Sendable, Equatable {
    /// One of the formats Rendition decodes.
    case supported(InputFormat)
    /// Something recognisable that Rendition refuses (such as `"SVG"`, `"PDF"`, `"HTML"`).
    case refused(String)
    /// Zero bytes.
    case empty
    /// Nothing recognisable.
    case unknown

    /// Sniffs `bytes`. Only the allow-listed formats are ever handed to a decoder, so a file named `.jpg`
    /// that holds SVG, PDF, PostScript or HTML never reaches a delegate.
    public init(_ bytes: some Collection<UInt8>) {
        let head = Array(bytes.prefix(64))
        func starts(_ prefix: [UInt8], at offset: Int = 0) -> Bool {
            head.count >= offset + prefix.count && Array(head[offset..<offset + prefix.count]) == prefix
        }
        func ascii(_ text: String) -> [UInt8] { Array(text.utf8) }

        if head.isEmpty {
            self = .empty
        } else if starts([0xFF, 0xD8, 0xFF]) {
            self = .supported(.jpeg)
        } else if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            self = .supported(.png)
        } else if starts(ascii("GIF87a")) || starts(ascii("GIF89a")) {
            self = .supported(.gif)
        } else if starts(ascii("RIFF")) && starts(ascii("WEBP"), at: 8) {
            self = .supported(.webp)
        } else if starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A])
            || starts([0x49, 0x49, 0x2B, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2B])
        {
            self = .supported(.tiff)
        } else if starts(ascii("ftyp"), at: 4), head.count >= 12,
            case let brand = String(decoding: head[8..<12], as: UTF8.self),
            Self.heifBrands.contains(brand)
        {
            self = .supported(.heif)
        } else {
            self = Self.describeRefused(head)
        }
    }

    private static let heifBrands: Set<String> = [
        "heic", "heix", "hevc", "hevx", "heim", "heis", "hevm", "hevs", "mif1", "msf1", "avif", "avis",
    ]

    private static func describeRefused(_ head: [UInt8]) -> SniffResult {
        let text = String(decoding: head, as: UTF8.self).lowercased()
            .drop { $0.isWhitespace || $0 == "\u{FEFF}" }
        let known: [(String, String)] = [
            ("%pdf", "PDF"), ("%!ps", "PostScript"), ("<svg", "SVG"), ("<?xml", "XML or SVG"),
            ("<!doctype html", "HTML"), ("<html", "HTML"), ("push graphic-context", "MVG"),
            ("viewbox", "MVG"), ("matlab", "MATLAB"), ("8bps", "Photoshop"), ("bm", "BMP"),
        ]
        for (prefix, name) in known where text.hasPrefix(prefix) {
            return .refused(name)
        }
        if head.starts(with: [0xC5, 0xD0, 0xD3, 0xC6]) { return .refused("EPS") }
        if head.starts(with: [0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50]) { return .refused("JPEG 2000") }
        if head.starts(with: [0xFF, 0x0A]) { return .refused("JPEG XL") }
        let printable = head.allSatisfy { $0 == 9 || $0 == 10 || $0 == 13 || (32..<127).contains($0) || $0 >= 0x80 }
        return printable ? .refused("text") : .unknown
    }
}
