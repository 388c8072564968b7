import Foundation
import RenditionCore

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
        if report.columns.contains(where: \.hasForms) {
            body += "<p>A preset with size variants or several candidate formats shows its own rendition (what "
            body += "<code>/{preset}/{key}</code> answers at its base size, in its first format), then a table "
            body += "of every form it declares: each size (<code>@{W}w</code>, <code>@{D}x</code>) in each "
            body += "candidate format, with its bytes and, for a negotiating preset, its share of the bytes of the "
            body += "format every client decodes at the same size, so you can see what AVIF buys over WebP and "
            body += "JPEG on these originals. Those renditions are shown smaller; select one to open it.</p>\n"
        }
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
            if column.hasForms {
                let sizes = column.sizes.count
                let formats = max(1, column.formats.count)
                text += "<br><span class=\"summary\">\(column.forms.count) forms: \(sizes) size\(sizes == 1 ? "" : "s")"
                text += " × \(formats) format\(formats == 1 ? "" : "s")</span>"
            }
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
        if column.hasForms { text += forms(cell, column: column, original: original) }
        return text
    }

    /// The preset's forms as a small table: a row per size, a column per format, each rendition with its
    /// bytes and its share of the fallback format's bytes at the same size. The cell's own form is the
    /// figure above the table, so its entry has no second image.
    static func forms(_ cell: PreviewCell, column: PreviewColumn, original: PreviewOriginal) -> String {
        let formats: [String?] = column.formats.isEmpty ? [nil] : column.formats.map { Optional($0) }
        guard cell.current != nil else { return "" }
        var text = "<table class=\"forms\"><caption>Every form of <code>\(HTML.escape(column.preset))</code>"
        text += " for \(HTML.escape(original.name))</caption>\n<thead><tr><th scope=\"col\">size</th>"
        for format in formats {
            text += "<th scope=\"col\">\(HTML.escape(format.map(formatName) ?? column.format))</th>"
        }
        text += "</tr></thead><tbody>"
        for size in column.sizes {
            let entries = formats.map { RenditionForm(size: size, format: $0) }
            let outcomes = entries.compactMap { column.forms.contains($0) ? cell.outcome($0, in: column) : nil }
            text += "<tr><th scope=\"row\"><code>\(HTML.escape(size == .base ? "base" : size.suffix))</code>"
            if let rendition = outcomes.lazy.compactMap(\.rendition).first {
                text += "<br>\(rendition.width)×\(rendition.height)"
            }
            // The size's warnings (an `enlarge: false` cap) are the same in every format: shown once.
            var badges: [Badge] = []
            for badge in outcomes.flatMap({ Badge.badges(for: $0) })
            where badge.kind != .failed && !badges.contains(badge) {
                badges.append(badge)
            }
            text += badgeList(badges, capped: true)
            text += "</th>"
            for form in entries {
                text += "<td>" + formEntry(form, cell: cell, column: column, original: original) + "</td>"
            }
            text += "</tr>"
        }
        text += "</tbody></table>"
        if !column.removedForms.isEmpty {
            text += "<p class=\"delta\">No longer declared: "
            text +=
                column.removedForms.map { "<code>\(HTML.escape($0.segment(preset: column.preset)))</code>" }
                .joined(separator: ", ") + "</p>"
        }
        return text
    }

    /// One form in the forms table: a small image linked to the file, its bytes, and its share of the
    /// fallback format's bytes; in compare mode, what changed against the base version.
    static func formEntry(_ form: RenditionForm, cell: PreviewCell, column: PreviewColumn, original: PreviewOriginal)
        -> String
    {
        guard column.forms.contains(form), let outcome = cell.outcome(form, in: column) else { return "—" }
        let own = form == column.forms.first
        var text = ""
        switch outcome {
        case .failed(let code, let message):
            return "<p class=\"failed\"><code>\(HTML.escape(code))</code>: \(HTML.escape(message))</p>"
        case .rendered(let rendition):
            let href = HTML.attribute(HTML.encodePath(rendition.file))
            if own {
                text += "<a href=\(href)>shown above</a><br>"
            } else {
                let name = form.format.map(formatName) ?? rendition.format
                let alt = "\(column.preset)\(form.size.suffix) \(name) rendition of \(original.name)"
                text += "<a href=\(href)><img class=\"form\" src=\(href) alt=\(HTML.attribute(alt)) "
                text += "width=\"\(rendition.width)\" height=\"\(rendition.height)\"></a>"
            }
            text += "<span class=\"bytes\">\(formatBytes(rendition.bytes))</span>"
            if let share = cell.shareOfFallback(form, in: column), let fallback = column.fallback {
                text += "<br><span class=\"share\">\(String(format: "%.0f", share * 100)) % of "
                text += "\(HTML.escape(formatName(fallback)))</span>"
            }
        }
        if let entry = cell.forms.first(where: { $0.form == form }) {
            switch entry.change {
            case .added?:
                text += "<br><span class=\"change added\">new form</span>"
            case .changed?:
                text += "<br><span class=\"change changed\">changed</span>"
                if let difference = entry.byteDifference, let old = entry.base?.rendition, old.bytes > 0 {
                    let percent = Double(difference) / Double(old.bytes) * 100
                    text += " <a href=\(HTML.attribute(HTML.encodePath(old.file)))>before</a>: "
                    text += "\(difference >= 0 ? "+" : "−")\(formatBytes(abs(difference))) "
                    text += "(\(difference >= 0 ? "+" : "−")\(String(format: "%.1f", abs(percent))) %)"
                }
            default:
                break
            }
        }
        return text
    }

    /// The badges as a list (for the forms table, with the `capped` wording of the plan).
    static func badgeList(_ badges: [Badge], capped: Bool) -> String {
        guard !badges.isEmpty else { return "" }
        var text = "<ul class=\"badges\">"
        for badge in badges {
            let label = capped && badge.kind == .clamp ? "capped (enlarge: false)" : badge.label
            text += "<li class=\"badge \(badge.kind.rawValue)\" title=\(HTML.attribute(badge.detail))>"
            text += "⚠ \(HTML.escape(label))<span class=\"detail\">: \(HTML.escape(badge.detail))</span></li>"
        }
        return text + "</ul>"
    }

    /// How a format token is spelled for people: `avif` → AVIF, `webp` → WebP.
    public static func formatName(_ token: String) -> String {
        switch token.lowercased() {
        case "webp": "WebP"
        case "jpg": "JPEG"
        default: token.uppercased()
        }
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
        table.forms { margin-top: 0.5rem; font-size: 0.8rem; }
        table.forms caption { font-size: 0.8rem; }
        table.forms th, table.forms td { padding: 0.25rem 0.4rem; }
        table.forms td { white-space: nowrap; }
        table.forms thead th { position: static; }
        table.forms th[scope=row] { min-width: 4.5rem; }
        img.form { max-width: 96px; margin-bottom: 0.15rem; }
        .bytes { font-variant-numeric: tabular-nums; }
        .share { color: GrayText; }
        """

    /// `812 B`, `45.3 kB`, `2.1 MB` (decimal units, as file managers show them).
    public static func formatBytes(_ count: Int) -> String {
        if count < 10_000 { return "\(count) B" }
        if count < 10_000_000 { return String(format: "%.1f kB", Double(count) / 1_000) }
        return String(format: "%.1f MB", Double(count) / 1_000_000)
    }
}

func formatBytes(_ count: Int) -> String { PreviewPage.formatBytes(count) }
