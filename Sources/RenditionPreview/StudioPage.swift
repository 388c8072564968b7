/// The live studio page of `rendition serve`: every preset on the originals in the source store, each
/// image requested at its public URL, so the browser goes through the real flow (307 to the render route,
/// render, 301 back, 200). Plain HTML and inline CSS like the report.
public enum StudioPage {
    /// A preset as the page shows it.
    public struct Preset: Sendable, Hashable {
        public var name: String
        public var summary: String?
        public var format: String

        public init(name: String, summary: String?, format: String) {
            self.name = name
            self.summary = summary
            self.format = format
        }
    }

    /// Why there are no originals to show, when there are none.
    public enum Listing: Sendable, Hashable {
        /// The first keys of the store; `truncated` when there are more.
        case keys([String], truncated: Bool)
        /// The store cannot list (a message that says what to do).
        case unavailable(String)
    }

    /// - Parameters:
    ///   - publicBaseURL: prefix of the image URLs (empty: the page's own host).
    ///   - store: a description of the originals store, shown to say where originals come from.
    public static func html(presets: [Preset], listing: Listing, publicBaseURL: String, store: String) -> String {
        var body = "<h1>Rendition studio</h1>\n"
        body +=
            "<p>Every preset on the originals in <code>\(HTML.escape(store))</code>. Each image is asked for at its "
        body += "public URL <code>/{preset}/{key}</code>: the first time, the origin answers 307 to the render route, "
        body += "which renders, stores and answers 301 back to the public URL, which now answers 200. "
        body += "Select an image to open it alone.</p>\n"
        switch listing {
        case .unavailable(let message):
            body += "<p class=\"empty\">\(HTML.escape(message))</p>\n"
        case .keys(let keys, _) where keys.isEmpty:
            body += "<p class=\"empty\">No originals yet: put images in the originals store, then reload.</p>\n"
        case .keys(let keys, let truncated):
            if truncated { body += "<p>Showing the first \(keys.count) originals (by key).</p>\n" }
            if presets.isEmpty {
                body += "<p class=\"empty\">No presets: add pipeline files and restart the server.</p>\n"
            } else {
                body += grid(presets: presets, keys: keys, publicBaseURL: publicBaseURL)
            }
        }
        return PreviewPage.document(title: "Rendition studio", body: body)
    }

    static func grid(presets: [Preset], keys: [String], publicBaseURL: String) -> String {
        var text = "<div class=\"scroll\" role=\"region\" aria-labelledby=\"grid-caption\" tabindex=\"0\"><table>\n"
        text += "<caption id=\"grid-caption\">One row per original, one column per preset</caption>\n"
        text += "<thead><tr><th scope=\"col\">Original</th>"
        for preset in presets {
            text += "<th scope=\"col\"><code>\(HTML.escape(preset.name))</code> "
            text += "<span class=\"summary\">(\(HTML.escape(preset.format)))</span>"
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
                text += "<td><figure><a href=\(url)><img src=\(url) alt=\(alt)></a></figure></td>"
            }
            text += "</tr>\n"
        }
        return text + "</tbody></table></div>\n"
    }
}
