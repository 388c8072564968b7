import Foundation
public import RenditionCore

/// The live studio page of `rendition serve`: every preset on the originals in the source store, each
/// image requested at its public URL, so the browser goes through the real flow (307 to the render route,
/// render, 301 back, 200). Plain HTML and inline CSS like the report.
///
/// A preset with forms (size variants, candidate formats) also shows each candidate format at its stored
/// form's URL (`/card@avif/{key}`) and each size variant at its public URL (`/card@800w/{key}`). The page
/// has no script, so the bytes it shows are what the rendition store holds when the page is made (the
/// server looks each rendition up): a rendition not stored yet says so, and a reload shows it.
public enum StudioPage {
    /// A preset as the page shows it.
    public struct Preset: Sendable, Hashable {
        public var name: String
        public var summary: String?
        public var format: String
        /// The format tokens a negotiating preset chooses from, best first, the fallback last; empty for a
        /// preset with one fixed format.
        public var formats: [String]
        /// The size variants it declares beyond its base size.
        public var sizes: [RenditionForm.Size]

        public init(
            name: String, summary: String?, format: String, formats: [String] = [], sizes: [RenditionForm.Size] = []
        ) {
            self.name = name
            self.summary = summary
            self.format = format
            self.formats = formats
            self.sizes = sizes
        }

        /// The preset of a plan, with every form it declares.
        public init(_ plan: PipelinePlan) {
            self.init(
                name: plan.name, summary: plan.summary, format: plan.output.fileExtension,
                formats: plan.formats.map(\.token), sizes: plan.variants.sizes.filter { $0 != .base })
        }

        /// Whether the page shows more than the preset's public URL.
        public var hasForms: Bool { !formats.isEmpty || !sizes.isEmpty }

        /// The stored-key segment of one form (`card@800w@avif`; `card` for a fixed format's base).
        func segment(_ size: RenditionForm.Size, _ format: String?) -> String {
            RenditionForm(size: size, format: format).segment(preset: name)
        }

        /// The stored-key segments of every rendition the preset can make, base size first.
        var storedSegments: [String] {
            ([.base] + sizes).flatMap { size in
                (formats.isEmpty ? [nil] : formats.map { Optional($0) }).map { segment(size, $0) }
            }
        }
    }

    /// Why there are no originals to show, when there are none.
    public enum Listing: Sendable, Hashable {
        /// The first keys of the store; `truncated` when there are more.
        case keys([String], truncated: Bool)
        /// The store cannot list (a message that says what to do).
        case unavailable(String)
    }

    /// What the rendition store held when the page was made: the bytes of the renditions looked up and
    /// found current, by rendition key, and which keys were looked up at all (the server bounds how many).
    public struct Stored: Sendable, Hashable {
        public var bytes: [String: Int]
        public var lookedUp: Set<String>

        public init(bytes: [String: Int] = [:], lookedUp: Set<String> = []) {
            self.bytes = bytes
            self.lookedUp = lookedUp
        }

        /// The bytes of `key`'s rendition, `nil` when it was not looked up or is not stored.
        public subscript(key: String) -> Int? { bytes[key] }

        /// `16.2 kB`, `not stored yet`, or `—` when the key was not looked up.
        func text(_ key: String) -> String {
            guard lookedUp.contains(key) else { return "—" }
            return bytes[key].map { "<span class=\"bytes\">\(PreviewPage.formatBytes($0))</span>" }
                ?? "<span class=\"absent\">not stored yet</span>"
        }
    }

    /// The rendition keys (`card@avif/photos/cat.jpg`) whose bytes the page can show, in page order: for
    /// each original, each preset, each form. The server looks them up (at most as many as it chooses).
    public static func renditionKeys(presets: [Preset], keys: [String]) -> [String] {
        keys.flatMap { key in presets.flatMap { preset in preset.storedSegments.map { "\($0)/\(key)" } } }
    }

    /// - Parameters:
    ///   - publicBaseURL: prefix of the image URLs (empty: the page's own host).
    ///   - store: a description of the originals store, shown to say where originals come from.
    ///   - stored: the stored renditions' bytes (see ``renditionKeys(presets:keys:)``); `nil` when the
    ///     server did not look them up.
    public static func html(
        presets: [Preset], listing: Listing, publicBaseURL: String, store: String, stored: Stored? = nil
    ) -> String {
        var body = "<h1>Rendition studio</h1>\n"
        body +=
            "<p>Every preset on the originals in <code>\(HTML.escape(store))</code>. Each image is asked for at its "
        body += "public URL <code>/{preset}/{key}</code>: the first time, the origin answers 307 to the render route, "
        body += "which renders, stores and answers 301 back to the public URL, which now answers 200. "
        body += "Select an image to open it alone.</p>\n"
        if presets.contains(where: \.hasForms) {
            body += "<p>A preset with size variants or several candidate formats also shows each format at its "
            body += "stored form <code>/{preset}@{format}/{key}</code> and each size at its public URL "
            body += "<code>/{preset}@{W}w/{key}</code> or <code>/{preset}@{D}x/{key}</code> (in the format this "
            body += "browser accepts). Bytes are those of the renditions stored when this page was made, "
            body += "with each format's share of the fallback format's bytes at the same size; "
            body += "reload once the images have loaded to see the ones rendered just now.</p>\n"
        }
        switch listing {
        case .unavailable(let message):
            body += "<p class=\"empty\">\(HTML.escape(message))</p>\n"
        case .keys(let keys, _) where keys.isEmpty:
            body += "<p class=\"empty\">No originals yet: put images in the originals store, then reload.</p>\n"
        case .keys(let keys, let truncated):
            if truncated { body += "<p>Showing the first \(keys.count) originals (by key).</p>\n" }
            if let stored, case let all = renditionKeys(presets: presets, keys: keys), stored.lookedUp.count < all.count
            {
                body += "<p>Bytes were looked up for the first \(stored.lookedUp.count) of the page's "
                body += "\(all.count) renditions only (— for the others).</p>\n"
            }
            if presets.isEmpty {
                body += "<p class=\"empty\">No presets: add pipeline files and restart the server.</p>\n"
            } else {
                body += grid(presets: presets, keys: keys, publicBaseURL: publicBaseURL, stored: stored)
            }
        }
        return PreviewPage.document(title: "Rendition studio", body: body)
    }

    static func grid(presets: [Preset], keys: [String], publicBaseURL: String, stored: Stored?) -> String {
        var text = "<div class=\"scroll\" role=\"region\" aria-labelledby=\"grid-caption\" tabindex=\"0\"><table>\n"
        text += "<caption id=\"grid-caption\">One row per original, one column per preset</caption>\n"
        text += "<thead><tr><th scope=\"col\">Original</th>"
        for preset in presets {
            text += "<th scope=\"col\"><code>\(HTML.escape(preset.name))</code> "
            let format = preset.formats.isEmpty ? preset.format : preset.formats.joined(separator: ", ")
            text += "<span class=\"summary\">(\(HTML.escape(format)))</span>"
            if let summary = preset.summary { text += "<br><span class=\"summary\">\(HTML.escape(summary))</span>" }
            text += "</th>"
        }
        text += "</tr></thead>\n<tbody>\n"
        for key in keys {
            text += "<tr><th scope=\"row\"><span class=\"name\">\(HTML.escape(key))</span></th>"
            for preset in presets {
                let url = HTML.attribute(
                    publicBaseURL + "/" + HTML.encodeSegment(preset.name) + "/" + HTML.encodePath(key))
                let alt = HTML.attribute("\(preset.name) rendition of \(key)")
                text += "<td><figure><a href=\(url)><img src=\(url) alt=\(alt)></a>"
                if preset.formats.isEmpty, let stored {
                    text += "<figcaption>\(stored.text("\(preset.name)/\(key)"))</figcaption>"
                } else if !preset.formats.isEmpty {
                    text += "<figcaption>in the format this browser accepts</figcaption>"
                }
                text += "</figure>"
                if preset.hasForms { text += forms(preset, key: key, publicBaseURL: publicBaseURL, stored: stored) }
                text += "</td>"
            }
            text += "</tr>\n"
        }
        return text + "</tbody></table></div>\n"
    }

    /// The preset's forms for one original: each candidate format at its stored form's URL, then each size
    /// at its public URL, with the stored bytes of each.
    static func forms(_ preset: Preset, key: String, publicBaseURL: String, stored: Stored?) -> String {
        var text = "<table class=\"forms\"><caption>Forms of <code>\(HTML.escape(preset.name))</code></caption>"
        text += "<thead><tr><th scope=\"col\">form</th><th scope=\"col\">image</th>"
        text += "<th scope=\"col\">bytes stored</th></tr></thead><tbody>"
        func row(label: String, segment: String, alt: String, facts: String) {
            let url = HTML.attribute(publicBaseURL + "/" + HTML.encodeSegment(segment) + "/" + HTML.encodePath(key))
            text += "<tr><th scope=\"row\"><code>\(HTML.escape(label))</code></th>"
            text += "<td><a href=\(url)><img class=\"form\" src=\(url) alt=\(HTML.attribute(alt))></a></td>"
            text += "<td>\(facts)</td></tr>"
        }
        for format in preset.formats {
            let name = PreviewPage.formatName(format)
            row(
                label: "@" + format, segment: preset.segment(.base, format),
                alt: "\(preset.name) rendition of \(key) as \(name)",
                facts: stored.map { formatFacts(preset, size: .base, formats: [format], key: key, stored: $0) } ?? "—")
        }
        for size in preset.sizes {
            // The public URL of a size: the browser's `Accept` picks the format, so every format's bytes.
            row(
                label: size.suffix, segment: RenditionForm(size: size).publicSegment(preset: preset.name),
                alt: "\(preset.name)\(size.suffix) rendition of \(key)",
                facts: stored.map {
                    formatFacts(
                        preset, size: size, formats: preset.formats.isEmpty ? [nil] : preset.formats, key: key,
                        stored: $0)
                } ?? "—")
        }
        return text + "</tbody></table>"
    }

    /// `AVIF 16.2 kB, 54 % of JPEG` for each of `formats` at `size`, from the stored renditions' sizes.
    static func formatFacts(
        _ preset: Preset, size: RenditionForm.Size, formats: [String?], key: String, stored: Stored
    ) -> String {
        let fallback = preset.formats.last
        let reference = fallback.flatMap { stored["\(preset.segment(size, $0))/\(key)"] }
        return formats.map { format in
            let renditionKey = "\(preset.segment(size, format))/\(key)"
            var fact = formats.count > 1 ? "\(HTML.escape(PreviewPage.formatName(format ?? preset.format))) " : ""
            fact += stored.text(renditionKey)
            if let count = stored[renditionKey], let reference, reference > 0, let format, let fallback,
                format != fallback
            {
                let share = String(format: "%.0f", Double(count) / Double(reference) * 100)
                fact += ", <span class=\"share\">\(share) % of \(HTML.escape(PreviewPage.formatName(fallback)))</span>"
            }
            return fact
        }.joined(separator: "<br>")
    }
}
