import Foundation

/// The static report page (`index.html`): plain HTML and inline CSS, no script, no external asset, only
/// relative links to the renditions beside it, so the folder works offline and as a CI artifact.
public enum PreviewPage {
    /// Images are shown at their real size up to this width (click for the full file).
    public static let maxShownWidth = 320

    public static func html(_ report: PreviewReport) -> String {
        var body = "<h1>\(HTML.escape(report.title))</h1>\n"
        body += "<p>\(report.rows.count) original\(report.rows.count == 1 ? "" : "s") × "
        body += "\(report.columns.count) preset\(report.columns.count == 1 ? "" : "s")"
        if let base = report.base { body += ", compared with <code>\(HTML.escape(base))</code>" }
        body += ". Renditions are shown at their real size, at most \(maxShownWidth) px wide; "
        body += "select one to open the full file.</p>\n"
        if report.base != nil { body += changes(report) }
        if !report.problems.isEmpty {
            body += "<section aria-labelledby=\"problems\"><h2 id=\"problems\">Pipeline problems</h2><ul>"
            for problem in report.problems { body += "<li><code>\(HTML.escape(problem))</code></li>" }
            body += "</ul></section>\n"
        }
        if report.columns.isEmpty || report.rows.isEmpty {
            body += "<p class=\"empty\">Nothing to show: "
            body += report.columns.isEmpty ? "no preset changed.</p>\n" : "no originals.</p>\n"
        } else {
            body += grid(report)
        }
        return document(title: report.title, body: body)
    }

    /// Compare mode: what changed, in words, before the grid.
    static func changes(_ report: PreviewReport) -> String {
        var text = "<section aria-labelledby=\"changes\"><h2 id=\"changes\">Preset changes</h2><ul>"
        for column in report.columns {
            text +=
                "<li><span class=\"change \(column.change?.rawValue ?? "")\">\(column.change?.rawValue ?? "")</span> "
            text += "<code>\(HTML.escape(column.preset))</code></li>"
        }
        if !report.unchanged.isEmpty {
            text += "<li><span class=\"change unchanged\">unchanged</span> "
            text += report.unchanged.map { "<code>\(HTML.escape($0))</code>" }.joined(separator: ", ") + "</li>"
        }
        return text + "</ul></section>\n"
    }

    static func grid(_ report: PreviewReport) -> String {
        var text =
            "<div class=\"scroll\" role=\"region\" aria-labelledby=\"grid-caption\" tabindex=\"0\"><table>\n"
        text += "<caption id=\"grid-caption\">One row per original, one column per preset</caption>\n"
        text += "<thead><tr><th scope=\"col\">Original</th>"
        for column in report.columns {
            text += "<th scope=\"col\"><code>\(HTML.escape(column.preset))</code>"
            if let change = column.change {
                text += " <span class=\"change \(change.rawValue)\">\(change.rawValue)</span>"
            }
            if let summary = column.summary { text += "<br><span class=\"summary\">\(HTML.escape(summary))</span>" }
            text += "</th>"
        }
        text += "</tr></thead>\n<tbody>\n"
        for row in report.rows {
            let original = row.original
            text += "<tr><th scope=\"row\"><span class=\"name\">\(HTML.escape(original.name))</span><br>"
            if let format = original.format, let width = original.width, let height = original.height {
                text += "\(HTML.escape(format)) \(width)×\(height)<br>"
            }
            text += "\(formatBytes(original.bytes))</th>"
            for (column, cell) in zip(report.columns, row.cells) {
                text += "<td>" + self.cell(cell, column: column, original: original) + "</td>"
            }
            text += "</tr>\n"
        }
        return text + "</tbody></table></div>\n"
    }

    static func cell(_ cell: PreviewCell, column: PreviewColumn, original: PreviewOriginal) -> String {
        var text = ""
        if let base = cell.base {
            text += "<div class=\"pair\">"
            text += figure(base, label: "before", column: column, original: original)
            text += figure(cell.current, label: "after", column: column, original: original)
            text += "</div>"
            var facts: [String] = []
            if let difference = cell.byteDifference, let old = base.rendition, old.bytes > 0 {
                let percent = Double(difference) / Double(old.bytes) * 100
                facts.append(
                    "bytes \(difference >= 0 ? "+" : "−")\(formatBytes(abs(difference))) "
                        + "(\(difference >= 0 ? "+" : "−")\(String(format: "%.1f", abs(percent))) %)")
            }
            if let distance = cell.perceptualDistance {
                facts.append("perceptual distance \(distance)/64")
            }
            if !facts.isEmpty { text += "<p class=\"delta\">\(facts.joined(separator: ", "))</p>" }
        } else {
            text += figure(cell.current, label: nil, column: column, original: original)
        }
        if let ratio = cell.compressionRatio(original: original) {
            text += "<p class=\"ratio\">\(String(format: "%.1f", ratio * 100)) % of the original's bytes</p>"
        }
        let badges = cell.badges
        if !badges.isEmpty {
            text += "<ul class=\"badges\">"
            for badge in badges {
                text += "<li class=\"badge \(badge.kind.rawValue)\" title=\(HTML.attribute(badge.detail))>"
                text += "⚠ \(HTML.escape(badge.label))<span class=\"detail\">: \(HTML.escape(badge.detail))</span></li>"
            }
            text += "</ul>"
        }
        return text
    }

    /// One rendition (or its absence, or its failure) with its facts.
    static func figure(_ outcome: PreviewOutcome?, label: String?, column: PreviewColumn, original: PreviewOriginal)
        -> String
    {
        var text = "<figure>"
        let caption = label.map { "<strong>\($0)</strong> " } ?? ""
        switch outcome {
        case nil:
            text += "<p class=\"absent\">\(caption)no rendition (preset \(label == "before" ? "added" : "removed"))</p>"
        case .failed(let code, let message):
            text += "<p class=\"failed\">\(caption)<code>\(HTML.escape(code))</code>: \(HTML.escape(message))</p>"
        case .rendered(let rendition):
            let href = HTML.attribute(HTML.encodePath(rendition.file))
            let alt = "\(column.preset) rendition of \(original.name)\(label.map { ", \($0)" } ?? "")"
            text += "<a href=\(href)><img src=\(href) alt=\(HTML.attribute(alt)) "
            text += "width=\"\(rendition.width)\" height=\"\(rendition.height)\"></a>"
            text += "<figcaption>\(caption)<dl>"
            text += "<dt>format</dt><dd>\(HTML.escape(rendition.format))</dd>"
            text += "<dt>size</dt><dd>\(rendition.width)×\(rendition.height)</dd>"
            text += "<dt>bytes</dt><dd>\(formatBytes(rendition.bytes))</dd>"
            text += "<dt>time</dt><dd>\(String(format: "%.1f", rendition.milliseconds)) ms</dd>"
            text += "</dl></figcaption>"
        }
        return text + "</figure>"
    }

    /// A whole page around `body`, with the shared style sheet.
    public static func document(title: String, body: String) -> String {
        """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(HTML.escape(title))</title>
        <link rel="icon" href="data:,">
        <style>\(style)</style>
        </head>
        <body>
        <main>
        \(body)</main>
        </body>
        </html>

        """
    }

    static let style = """
        :root { color-scheme: light dark; font-family: system-ui, sans-serif; }
        body { margin: 0; padding: 1rem 1.5rem; background: Canvas; color: CanvasText; }
        h1 { font-size: 1.4rem; }
        h2 { font-size: 1.1rem; }
        code { font-family: ui-monospace, monospace; }
        .scroll { overflow-x: auto; }
        .scroll:focus-visible, a:focus-visible { outline: 3px solid #1a73e8; outline-offset: 2px; }
        table { border-collapse: collapse; }
        caption { text-align: left; padding: 0.25rem 0; color: GrayText; }
        th, td { border: 1px solid #8884; padding: 0.5rem; vertical-align: top; text-align: left; }
        thead th { position: sticky; top: 0; background: Canvas; }
        th[scope=row] { min-width: 8rem; max-width: 14rem; font-weight: normal; overflow-wrap: break-word; }
        th[scope=row] .name { font-weight: bold; }
        .summary { font-weight: normal; color: GrayText; }
        figure { margin: 0 0 0.5rem; }
        img { display: block; max-width: \(maxShownWidth)px; height: auto;
              background: repeating-conic-gradient(#8882 0 25%, transparent 0 50%) 0 0 / 16px 16px; }
        a { color: LinkText; }
        a:hover img { outline: 2px solid #1a73e8; }
        dl { display: grid; grid-template-columns: auto 1fr; gap: 0 0.5rem; margin: 0.25rem 0; font-size: 0.85rem; }
        dt { color: GrayText; }
        dd { margin: 0; }
        .pair { display: flex; gap: 0.75rem; align-items: flex-start; }
        .delta, .ratio { font-size: 0.85rem; margin: 0.25rem 0; }
        .badges { list-style: none; padding: 0; margin: 0.25rem 0; }
        .badge { display: inline-block; margin: 0.1rem 0; padding: 0.1rem 0.4rem; border-radius: 0.3rem;
                 font-size: 0.8rem; background: #ffe08a; color: #3d2e00; }
        .badge.failed, .badge.limit { background: #ffc2c2; color: #4a0000; }
        .badge .detail { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); }
        .failed, .absent { max-width: 16rem; font-size: 0.85rem; }
        .change { font-size: 0.75rem; padding: 0.05rem 0.35rem; border-radius: 0.3rem; background: #8883; }
        .change.changed { background: #ffe08a; color: #3d2e00; }
        .change.added { background: #b7f0c0; color: #003d0a; }
        .change.removed { background: #ffc2c2; color: #4a0000; }
        .empty { font-style: italic; }
        """

    /// `812 B`, `45.3 kB`, `2.1 MB` (decimal units, as file managers show them).
    public static func formatBytes(_ count: Int) -> String {
        if count < 10_000 { return "\(count) B" }
        if count < 10_000_000 { return String(format: "%.1f kB", Double(count) / 1_000) }
        return String(format: "%.1f MB", Double(count) / 1_000_000)
    }
}

func formatBytes(_ count: Int) -> String { PreviewPage.formatBytes(count) }
