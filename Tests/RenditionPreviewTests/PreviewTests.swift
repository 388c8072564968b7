import Foundation
import RenditionCatalog
import RenditionCore
import RenditionPreview
import Synchronization
import TestSupport
import Testing
import Vips

let hostile = "<img src=x onerror=alert(1)>.jpg"

func plan(_ name: String, _ yaml: String) throws -> PipelinePlan {
    try PipelineLibrary.planText(yaml, name: name, source: "\(name).yaml").get()
}

let thumbnailYAML = """
    stages:
      - orient: {}
      - resize: {width: 400, height: 400, fit: inside}
      - encode: {format: webp, quality: 80}
    """

/// A negotiating preset with two width variants: 3 sizes × 3 formats = 9 forms.
let cardYAML = """
    stages:
      - resize: {width: 400}
      - encode: {format: auto}
    variants:
      widths: [200, 800]
    """

/// Collects what the builder writes.
final class Sink: Sendable {
    let files = Mutex<[String: [UInt8]]>([:])
    func write(_ path: String, _ bytes: [UInt8]) { files.withLock { $0[path] = bytes } }
}

@Suite struct EscapingTests {
    @Test func escapesMarkupAndQuotesInTextAndAttributes() {
        #expect(HTML.escape(hostile) == "&lt;img src=x onerror=alert(1)&gt;.jpg")
        #expect(HTML.escape(#"a"b'c&d"#) == "a&quot;b&#39;c&amp;d")
        #expect(HTML.escape("été ✓") == "été ✓")
    }

    @Test func percentEncodesEverySegmentButKeepsSlashesBetweenThem() {
        #expect(HTML.encodeSegment(hostile) == "%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E.jpg")
        #expect(HTML.encodeSegment("a/b?c#d%e") == "a%2Fb%3Fc%23d%25e")
        #expect(HTML.encodeSegment("é") == "%C3%A9")
        #expect(HTML.encodePath("users/42/me ok.jpg") == "users/42/me%20ok.jpg")
    }
}

@Suite struct ReportModelTests {
    func rendition(_ file: String, bytes: Int, warnings: [RenderWarning] = [], hash: UInt64? = nil)
        -> PreviewOutcome
    {
        .rendered(
            PreviewRendition(
                file: file, format: "webp", width: 400, height: 300, bytes: bytes, milliseconds: 12.5,
                warnings: warnings, hash: hash.map(DifferenceHash.init(bits:))))
    }

    @Test func badgesComeFromWarningsAndFailures() {
        let clamp = RenderWarning(.enlargeClamped, "enlarge: false kept 200×100 below the requested size")
        #expect(PreviewCell(current: rendition("r0/a.webp", bytes: 10)).badges.isEmpty)
        #expect(
            PreviewCell(current: rendition("r0/a.webp", bytes: 10, warnings: [clamp])).badges == [
                Badge(kind: .clamp, label: "enlarge: false", detail: clamp.message)
            ])
        #expect(
            PreviewCell(current: .failed(code: "too_many_pixels", message: "too big")).badges.map(\.kind) == [.limit])
        #expect(PreviewCell(current: .failed(code: "corrupt_image", message: "broken")).badges.map(\.kind) == [.failed])
        // A removed preset (compare mode) is judged by its base rendition.
        #expect(
            PreviewCell(current: nil, base: rendition("r0/a.base.webp", bytes: 1, warnings: [clamp])).badges.count == 1)
    }

    @Test func ratiosAndDifferences() {
        let original = PreviewOriginal(name: "a.jpg", bytes: 1000)
        let cell = PreviewCell(
            current: rendition("r0/a.webp", bytes: 250, hash: 0b1011),
            base: rendition("r0/a.base.webp", bytes: 200, hash: 0b0001))
        #expect(cell.compressionRatio(original: original) == 0.25)
        #expect(cell.byteDifference == 50)
        #expect(cell.perceptualDistance == 2)
        #expect(PreviewCell(current: rendition("r0/a.webp", bytes: 1)).byteDifference == nil)
    }

    @Test func pageHasOneRowPerOriginalAndOneColumnPerPresetWithEveryNameEscaped() {
        let clamp = RenderWarning(.enlargeClamped, "enlarge: false kept 20×10 below the requested size")
        let report = PreviewReport(
            title: "Preset preview",
            columns: [
                PreviewColumn(preset: "avatar", summary: "Square <b>profile</b>", format: "webp"),
                PreviewColumn(preset: "thumbnail", summary: nil, format: "webp"),
            ],
            rows: [
                PreviewRow(
                    original: PreviewOriginal(name: hostile, bytes: 5000, format: "jpeg", width: 20, height: 10),
                    cells: [
                        PreviewCell(current: rendition("r0/avatar.webp", bytes: 300)),
                        PreviewCell(current: rendition("r0/thumbnail.webp", bytes: 200, warnings: [clamp])),
                    ]),
                PreviewRow(
                    original: PreviewOriginal(name: "bomb.jpg", bytes: 700),
                    cells: [
                        PreviewCell(current: .failed(code: "too_many_pixels", message: "over <50M>")),
                        PreviewCell(current: .failed(code: "too_many_pixels", message: "over <50M>")),
                    ]),
            ])
        let html = PreviewPage.html(report)
        #expect(!html.contains("<img src=x"))
        #expect(!html.contains("<b>profile"))
        #expect(html.contains("&lt;img src=x onerror=alert(1)&gt;.jpg"))
        #expect(html.contains("Square &lt;b&gt;profile&lt;/b&gt;"))
        #expect(html.contains("over &lt;50M&gt;"))
        #expect(html.components(separatedBy: "<tr>").count - 1 == 3)  // header + two originals
        #expect(html.components(separatedBy: "<th scope=\"col\">").count - 1 == 3)  // original + two presets
        #expect(html.components(separatedBy: "<img ").count - 1 == 2)
        #expect(html.contains(#"<a href="r0/avatar.webp"><img src="r0/avatar.webp" alt="avatar rendition of &lt;img"#))
        #expect(html.contains(#"width="400" height="300""#))
        #expect(html.contains("class=\"badge clamp\""))
        #expect(html.components(separatedBy: "class=\"badge limit\"").count - 1 == 2)
        #expect(html.contains("6.0 % of the original"))
        // Self-contained: no script, no external or absolute URL.
        #expect(!html.contains("<script"))
        #expect(!html.contains("http://") && !html.contains("https://") && !html.contains("src=\"/"))
        #expect(report.badgeCount == 3)
    }

    @Test func comparePageShowsOldAndNewSideBySide() {
        let report = PreviewReport(
            title: "Preset changes against main",
            columns: [PreviewColumn(preset: "thumbnail", summary: nil, format: "webp", change: .changed)],
            rows: [
                PreviewRow(
                    original: PreviewOriginal(name: "a.jpg", bytes: 1000),
                    cells: [
                        PreviewCell(
                            current: rendition("r0/thumbnail.webp", bytes: 300, hash: 0xFF),
                            base: rendition("r0/thumbnail.base.webp", bytes: 200, hash: 0x0F))
                    ])
            ], base: "main", unchanged: ["avatar"])
        let html = PreviewPage.html(report)
        #expect(html.contains(#"src="r0/thumbnail.base.webp""#))
        #expect(html.contains(#"src="r0/thumbnail.webp""#))
        #expect(html.contains("class=\"pair\""))
        #expect(html.contains("bytes +100 B (+50.0 %)"))
        #expect(html.contains("perceptual distance 4/64"))
        #expect(html.contains("<span class=\"change unchanged\">unchanged</span> <code>avatar</code>"))
    }
}

@Suite struct FormsPageTests {
    func rendition(_ file: String, _ format: String, width: Int, bytes: Int, warnings: [RenderWarning] = [])
        -> PreviewOutcome
    {
        .rendered(
            PreviewRendition(
                file: file, format: format, width: width, height: width / 2, bytes: bytes, milliseconds: 3,
                warnings: warnings))
    }

    /// `card`: base and @800w, each in AVIF, WebP and JPEG; the original is too small for @800w.
    func report() -> (PreviewReport, PreviewColumn) {
        let formats = ["avif", "webp", "jpeg"]
        let forms = [RenditionForm.Size.base, .width(800)].flatMap { size in
            formats.map { RenditionForm(size: size, format: $0) }
        }
        let column = PreviewColumn(preset: "card", summary: nil, format: "avif", forms: forms, formats: formats)
        let clamp = RenderWarning(.enlargeClamped, "enlarge: false kept 600×300 below 800 wide")
        let extensions = ["avif": "avif", "webp": "webp", "jpeg": "jpg"]
        let bytes = ["avif": 16_200, "webp": 21_000, "jpeg": 30_000]
        let others = forms.dropFirst().map { form in
            let wide = form.size != .base
            return PreviewForm(
                form: form,
                outcome: rendition(
                    "r0/\(form.segment(preset: "card")).\(extensions[form.format!]!)", extensions[form.format!]!,
                    width: wide ? 600 : 400, bytes: bytes[form.format!]! * (wide ? 2 : 1),
                    warnings: wide ? [clamp] : []))
        }
        let cell = PreviewCell(current: rendition("r0/card.avif", "avif", width: 400, bytes: 16_200), forms: others)
        let report = PreviewReport(
            title: "Preset preview", columns: [column],
            rows: [PreviewRow(original: PreviewOriginal(name: hostile, bytes: 90_000), cells: [cell])])
        return (report, column)
    }

    @Test func everyFormIsShownWithItsBytesAndItsShareOfTheFallback() throws {
        let (report, column) = report()
        let cell = report.rows[0].cells[0]
        #expect(cell.shareOfFallback(RenditionForm(format: "avif"), in: column) == 0.54)
        #expect(cell.shareOfFallback(RenditionForm(size: .width(800), format: "webp"), in: column) == 0.7)
        #expect(cell.shareOfFallback(RenditionForm(format: "jpeg"), in: column) == nil)

        let html = PreviewPage.html(report)
        // The preset's own rendition once, and every other form as its own image.
        #expect(html.components(separatedBy: "<img ").count - 1 == column.forms.count)
        for form in column.forms.dropFirst() {
            let file = HTML.encodePath(cell.outcome(form, in: column)!.rendition!.file)
            #expect(html.contains(#"<a href="\#(file)"><img class="form" src="\#(file)""#), "\(file)")
        }
        #expect(html.contains(#"src="r0/card%40800w%40webp.webp" alt="card@800w WebP rendition of &lt;img"#))
        #expect(html.contains("<th scope=\"col\">AVIF</th><th scope=\"col\">WebP</th><th scope=\"col\">JPEG</th>"))
        #expect(html.contains("16.2 kB</span><br><span class=\"share\">54 % of JPEG"))
        #expect(html.contains("42.0 kB</span><br><span class=\"share\">70 % of JPEG"))
        #expect(html.contains("<code>@800w</code><br>600×300"))
        // The cap is said once for the size, not once per format.
        #expect(html.components(separatedBy: "capped (enlarge: false)").count - 1 == 1)
        #expect(html.contains("6 forms: 2 sizes × 3 formats"))
        #expect(report.badgeCount == 3)
        #expect(report.renditionCount == 6)
        #expect(!html.contains("<img src=x"))
    }

    @Test func aPresetWithOneFormHasNoFormsTable() {
        let column = PreviewColumn(preset: "thumbnail", summary: nil, format: "webp")
        let report = PreviewReport(
            title: "t", columns: [column],
            rows: [
                PreviewRow(
                    original: PreviewOriginal(name: "a.jpg", bytes: 1000),
                    cells: [PreviewCell(current: rendition("r0/thumbnail.webp", "webp", width: 400, bytes: 300))])
            ])
        let html = PreviewPage.html(report)
        #expect(!html.contains("class=\"forms\""))
        #expect(html.components(separatedBy: "<img ").count - 1 == 1)
    }
}

@Suite struct PresetChangeTests {
    @Test func changedMeansADifferentFingerprint() throws {
        let thumbnail = try plan("thumbnail", thumbnailYAML)
        let smaller = try plan("thumbnail", thumbnailYAML.replacingOccurrences(of: "400", with: "200"))
        // Only the description differs: same renditions, so unchanged.
        let described = try plan("avatar", "description: New words\n" + thumbnailYAML)
        let avatar = try plan("avatar", thumbnailYAML)
        let hero = try plan("hero", thumbnailYAML)
        let banner = try plan("banner", thumbnailYAML)
        let presets = PreviewPreset.compare(
            current: ["thumbnail": smaller, "avatar": described, "banner": banner],
            base: ["thumbnail": thumbnail, "avatar": avatar, "hero": hero])
        #expect(presets.map(\.name) == ["avatar", "banner", "hero", "thumbnail"])
        #expect(presets.map(\.change) == [.unchanged, .added, .removed, .changed])
        #expect(presets[3].current?.fingerprint == smaller.fingerprint)
        #expect(presets[3].base?.fingerprint == thumbnail.fingerprint)
    }

    @Test func aChangeToAnyFormIsAChange() throws {
        let card = try plan("card", cardYAML)
        // Only WebP's quality: the preset's own form (AVIF at the base size) renders the same bytes.
        let webp = try plan(
            "card", cardYAML.replacingOccurrences(of: "{format: auto}", with: "{format: auto, webp: {quality: 50}}"))
        #expect(webp.fingerprint == card.fingerprint)
        let wider = try plan("card", cardYAML.replacingOccurrences(of: "[200, 800]", with: "[200, 800, 1200]"))
        let presets = PreviewPreset.compare(
            current: ["a": webp, "b": wider, "c": card], base: ["a": card, "b": card, "c": card])
        #expect(presets.map(\.change) == [.changed, .changed, .unchanged])
    }
}

@Suite(.serialized) struct BuilderTests {
    init() throws { try VipsRuntime.start() }

    @Test func rendersEveryPresetOnEveryOriginalWithBadges() async throws {
        let samples = [
            PreviewSample(name: "big.jpg", bytes: try Fixtures.jpeg(Fixtures.photo(width: 1200, height: 800))),
            PreviewSample(name: hostile, bytes: try Fixtures.jpeg(Fixtures.photo(width: 200, height: 100))),
            PreviewSample(name: "bomb.jpg", bytes: try Fixtures.jpegClaiming(width: 20_000, height: 20_000)),
            PreviewSample(name: "notes.txt", bytes: Array("just text".utf8)),
        ]
        let presets = PreviewPreset.all([
            "thumbnail": try plan("thumbnail", thumbnailYAML),
            "square": try plan(
                "square", "stages:\n  - resize: {width: 64, height: 64, fit: cover}\n  - encode: {format: jpeg}"),
        ])
        let sink = Sink()
        let renderer = try Renderer(threads: 2)
        let progress = Mutex<[Int]>([])
        let report = try await PreviewBuilder(renderer: renderer).build(
            title: "t", presets: presets, sampleCount: samples.count, read: { samples[$0] },
            write: { sink.write($0, $1) }, progress: { done, _ in progress.withLock { $0.append(done) } })
        try await renderer.shutdown()

        #expect(report.columns.map(\.preset) == ["square", "thumbnail"])
        #expect(report.rows.map(\.original.name) == samples.map(\.name))
        #expect(report.rows.allSatisfy { $0.cells.count == 2 })
        #expect(progress.withLock { $0.first == 0 && $0.last == 8 })

        let big = report.rows[0]
        #expect(big.original.width == 1200 && big.original.format == "jpeg")
        let thumbnail = try #require(big.cells[1].current?.rendition)
        #expect((thumbnail.width, thumbnail.height, thumbnail.format) == (400, 267, "webp"))
        #expect(sink.files.withLock { $0[thumbnail.file]?.count } == thumbnail.bytes)
        #expect(big.cells.allSatisfy { $0.badges.isEmpty })
        #expect(thumbnail.file == "r0/thumbnail.webp")

        // A 200×100 original cannot fill 400×400 with enlarge: false (the default).
        let small = report.rows[1]
        #expect(small.cells[1].badges.map(\.kind) == [.clamp])
        #expect(small.cells[1].current?.rendition?.width == 200)
        #expect(small.cells[0].badges.isEmpty)
        // The file name never carries the original's name.
        #expect(small.cells[1].current?.rendition?.file == "r1/thumbnail.webp")

        #expect(report.rows[2].cells.allSatisfy { $0.badges.map(\.kind) == [.limit] })
        #expect(report.rows[3].cells.allSatisfy { $0.badges.map(\.kind) == [.failed] })
        #expect(report.rows[3].original.format == nil)
        #expect(sink.files.withLock { $0.count } == 4)
    }

    @Test func compareModeRendersOnlyChangedPresetsOldAndNew() async throws {
        let samples = [PreviewSample(name: "a.jpg", bytes: try Fixtures.jpeg(Fixtures.photo(width: 900, height: 600)))]
        let unchanged = try plan("square", "stages:\n  - resize: {width: 64}\n  - encode: {format: jpeg}")
        let presets = PreviewPreset.compare(
            current: [
                "thumbnail": try plan("thumbnail", thumbnailYAML.replacingOccurrences(of: "400", with: "200")),
                "square": unchanged,
            ],
            base: ["thumbnail": try plan("thumbnail", thumbnailYAML), "square": unchanged])
        let sink = Sink()
        let renderer = try Renderer(threads: 1)
        let report = try await PreviewBuilder(renderer: renderer).build(
            title: "t", presets: presets, sampleCount: 1, base: "main", read: { samples[$0] },
            write: { sink.write($0, $1) })
        try await renderer.shutdown()

        #expect(report.columns.map(\.preset) == ["thumbnail"])
        #expect(report.unchanged == ["square"])
        let cell = try #require(report.rows.first?.cells.first)
        #expect(cell.current?.rendition?.width == 200)
        #expect(cell.base?.rendition?.width == 400)
        #expect(try #require(cell.byteDifference) < 0)
        // The same picture at another size: close, not identical bytes.
        #expect(try #require(cell.perceptualDistance) <= 8)
        #expect(Set(sink.files.withLock { Array($0.keys) }) == ["r0/thumbnail.webp", "r0/thumbnail.base.webp"])
    }
}

@Suite(.serialized) struct FormsBuilderTests {
    init() throws { try VipsRuntime.start() }

    @Test func rendersEveryFormOfAPresetBesideItsOwn() async throws {
        let samples = [
            PreviewSample(name: "photo.jpg", bytes: try Fixtures.jpeg(Fixtures.photo(width: 1200, height: 800))),
            PreviewSample(name: "small.jpg", bytes: try Fixtures.jpeg(Fixtures.photo(width: 500, height: 250))),
        ]
        let card = try plan("card", cardYAML)
        let sink = Sink()
        let renderer = try Renderer(threads: 2)
        let progress = Mutex<[(Int, Int)]>([])
        let report = try await PreviewBuilder(renderer: renderer).build(
            title: "t", presets: PreviewPreset.all(["card": card, "thumbnail": try plan("thumbnail", thumbnailYAML)]),
            sampleCount: samples.count, read: { samples[$0] }, write: { sink.write($0, $1) },
            progress: { done, total in progress.withLock { $0.append((done, total)) } })
        try await renderer.shutdown()

        let column = report.columns[0]
        #expect(column.forms == card.allForms.map(\.form))
        #expect(column.forms.count == 9 && column.formats == ["avif", "webp", "jpeg"])
        #expect(column.sizes == [.base, .width(200), .width(800)])
        #expect(report.columns[1].forms.count == 1)
        #expect(progress.withLock { $0.last?.0 == 20 && $0.last?.1 == 20 })
        #expect(sink.files.withLock { $0.count } == 20)
        #expect(report.renditionCount == 20)

        let photo = report.rows[0].cells[0]
        #expect(photo.forms.map(\.form) == Array(column.forms.dropFirst()))
        #expect(photo.current?.rendition?.file == "r0/card.avif")
        let wide = try #require(photo.outcome(RenditionForm(size: .width(800), format: "webp"), in: column)?.rendition)
        #expect((wide.file, wide.format, wide.width, wide.height) == ("r0/card@800w@webp.webp", "webp", 800, 533))
        #expect(sink.files.withLock { $0[wide.file]?.count } == wide.bytes)
        let jpeg = try #require(photo.outcome(RenditionForm(size: .width(200), format: "jpeg"), in: column)?.rendition)
        #expect(jpeg.format == "jpg" && jpeg.width == 200)
        for size in column.sizes {
            // Each format at the same size: the same pixels, different bytes.
            let share = try #require(photo.shareOfFallback(RenditionForm(size: size, format: "avif"), in: column))
            #expect(share > 0 && share < 2)
        }
        #expect(photo.forms.allSatisfy { $0.badges.isEmpty })

        // 500 px wide cannot make 800 with enlarge: false: every format of @800w is capped, nothing else.
        let small = report.rows[1].cells[0]
        #expect(small.forms.filter { !$0.badges.isEmpty }.map(\.form.size) == Array(repeating: .width(800), count: 3))
        #expect(small.forms.filter { !$0.badges.isEmpty }.allSatisfy { $0.badges.map(\.kind) == [.clamp] })
        #expect(small.outcome(RenditionForm(size: .width(800), format: "avif"), in: column)?.rendition?.width == 500)
        #expect(report.badgeCount == 3)

        let html = PreviewPage.html(report)
        #expect(html.components(separatedBy: "<img ").count - 1 == 2 * (9 + 1))
        #expect(html.contains("capped (enlarge: false)"))
        #expect(html.contains(" % of JPEG"))
    }

    @Test func withoutFormsOnlyEachPresetsOwnFormIsRendered() async throws {
        let samples = [PreviewSample(name: "a.jpg", bytes: try Fixtures.jpeg(Fixtures.photo(width: 600, height: 400)))]
        let sink = Sink()
        let renderer = try Renderer(threads: 1)
        let report = try await PreviewBuilder(renderer: renderer).build(
            title: "t", presets: PreviewPreset.all(["card": try plan("card", cardYAML)]), sampleCount: 1,
            forms: false, read: { samples[$0] }, write: { sink.write($0, $1) })
        try await renderer.shutdown()
        #expect(report.columns[0].forms.count == 1 && report.rows[0].cells[0].forms.isEmpty)
        #expect(Array(sink.files.withLock { $0.keys }) == ["r0/card.avif"])
    }

    @Test func compareModeComparesTheOwnFormAndEachChangedForm() async throws {
        let samples = [PreviewSample(name: "a.jpg", bytes: try Fixtures.jpeg(Fixtures.photo(width: 900, height: 600)))]
        let old = try plan("card", cardYAML)
        let new = try plan(
            "card",
            cardYAML.replacingOccurrences(of: "{format: auto}", with: "{format: auto, webp: {quality: 40}}")
                .replacingOccurrences(of: "[200, 800]", with: "[200, 600]"))
        let presets = PreviewPreset.compare(current: ["card": new], base: ["card": old])
        let sink = Sink()
        let renderer = try Renderer(threads: 1)
        let report = try await PreviewBuilder(renderer: renderer).build(
            title: "t", presets: presets, sampleCount: 1, base: "main", read: { samples[$0] },
            write: { sink.write($0, $1) })
        try await renderer.shutdown()

        let column = try #require(report.columns.first)
        #expect(column.change == .changed)
        #expect(column.removedForms == ["avif", "webp", "jpeg"].map { RenditionForm(size: .width(800), format: $0) })
        let cell = report.rows[0].cells[0]
        // The own form, old and new side by side as before.
        #expect(cell.current?.rendition?.file == "r0/card.avif" && cell.base?.rendition?.file == "r0/card.base.avif")
        let changes = Dictionary(uniqueKeysWithValues: cell.forms.map { ($0.form, $0.change) })
        #expect(changes[RenditionForm(format: "webp")] == .changed)
        #expect(changes[RenditionForm(size: .width(200), format: "webp")] == .changed)
        #expect(changes[RenditionForm(format: "jpeg")] == .unchanged)
        #expect(changes[RenditionForm(size: .width(600), format: "avif")] == .added)
        let webp = try #require(cell.forms.first { $0.form == RenditionForm(format: "webp") })
        #expect(webp.base?.rendition?.file == "r0/card@webp.base.webp")
        #expect(try #require(webp.byteDifference) < 0)
        #expect(cell.forms.filter { $0.base != nil }.count == 2)

        let html = PreviewPage.html(report)
        #expect(html.contains("No longer declared: <code>card@800w@avif</code>"))
        #expect(html.contains("new form"))
        #expect(html.contains(#"<a href="r0/card%40webp.base.webp">before</a>: −"#))
        #expect(html.contains("class=\"pair\""))
    }
}

@Suite struct DifferenceHashTests {
    init() throws { try VipsRuntime.start() }

    @Test func aPictureIsCloseToItselfInAnotherCodecAndFarFromAnother() async throws {
        let photo = try Fixtures.photo(width: 640, height: 480)
        let jpeg = try #require(await DifferenceHash.of(try photo.jpegData(quality: 60)))
        let webp = try #require(await DifferenceHash.of(try photo.webpData(quality: 90)))
        #expect(jpeg.distance(to: webp) <= 6)
        // Dark to light against light to dark: every bit differs.
        let ramp = try VipsImage.ramp(width: 640, height: 480)
        let rising = try #require(await DifferenceHash.of(try ramp.jpegData(quality: 80)))
        let falling = try #require(await DifferenceHash.of(try ramp.flipped(.horizontal).pngData()))
        #expect(rising.distance(to: falling) >= 48)
        #expect(await DifferenceHash.of(Array("not an image".utf8)) == nil)
    }
}

@Suite struct StudioPageTests {
    let presets = [
        StudioPage.Preset(name: "avatar", summary: "Square <profile>", format: "webp"),
        StudioPage.Preset(name: "thumbnail", summary: nil, format: "webp"),
    ]

    @Test func imagesUsePublicURLsWithEncodedKeysAndEscapedText() {
        let html = StudioPage.html(
            presets: presets, listing: .keys(["users/42/" + hostile, "sample.jpg"], truncated: false),
            publicBaseURL: "", store: "fs:/data/<originals>")
        #expect(!html.contains("<img src=x"))
        let encoded = "users/42/%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E.jpg"
        #expect(html.contains(#"<a href="/avatar/\#(encoded)"><img src="/avatar/\#(encoded)""#))
        #expect(html.contains(#"<img src="/thumbnail/sample.jpg" alt="thumbnail rendition of sample.jpg">"#))
        #expect(html.contains("users/42/&lt;img src=x onerror=alert(1)&gt;.jpg"))
        #expect(html.contains("fs:/data/&lt;originals&gt;"))
        #expect(html.contains("Square &lt;profile&gt;"))
        #expect(html.components(separatedBy: "<img ").count - 1 == 4)
        #expect(!html.contains("<script"))
    }

    @Test func aPublicBasePrefixesImagesAndEmptyOrUnlistableStoresSaySo() {
        let based = StudioPage.html(
            presets: presets, listing: .keys(["a.jpg"], truncated: true), publicBaseURL: "https://img.example.com",
            store: "s")
        #expect(based.contains(#"src="https://img.example.com/avatar/a.jpg""#))
        #expect(based.contains("Showing the first 1 originals"))
        let empty = StudioPage.html(
            presets: presets, listing: .keys([], truncated: false), publicBaseURL: "", store: "s")
        #expect(empty.contains("No originals yet") && !empty.contains("<img "))
        let unlisted = StudioPage.html(
            presets: presets, listing: .unavailable("cannot list <s3>"), publicBaseURL: "", store: "s")
        #expect(unlisted.contains("cannot list &lt;s3&gt;") && !unlisted.contains("<img "))
    }

    @Test func aPresetWithFormsShowsEachFormatAtItsStoredFormAndEachSizeAtItsPublicURL() throws {
        let card = StudioPage.Preset(try plan("card", cardYAML))
        #expect(card.formats == ["avif", "webp", "jpeg"] && card.sizes == [.width(200), .width(800)])
        let key = "users/" + hostile
        let encoded = "users/%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E.jpg"
        let all = StudioPage.renditionKeys(presets: [card, presets[1]], keys: [key])
        #expect(all.count == 9 + 1)
        #expect(
            all.contains("card@800w@jpeg/\(key)") && all.contains("card@avif/\(key)") && all.last == "thumbnail/\(key)")

        let stored = StudioPage.Stored(
            bytes: ["card@avif/\(key)": 16_200, "card@jpeg/\(key)": 30_000, "card@800w@webp/\(key)": 40_000],
            lookedUp: Set(all.dropLast()))
        let html = StudioPage.html(
            presets: [card, presets[1]], listing: .keys([key], truncated: false), publicBaseURL: "", store: "s",
            stored: stored)
        // The public URL, each candidate format, each size: one image each.
        #expect(html.components(separatedBy: "<img ").count - 1 == (1 + 3 + 2) + 1)
        for segment in ["card", "card@avif", "card@webp", "card@jpeg", "card@200w", "card@800w", "thumbnail"] {
            let url = "/\(HTML.encodeSegment(segment))/\(encoded)"
            #expect(html.contains(#"<a href="\#(url)"><img "#) && html.contains(#"src="\#(url)""#), "\(segment)")
        }
        #expect(html.contains(#"alt="card rendition of users/&lt;img src=x onerror=alert(1)&gt;.jpg as WebP""#))
        #expect(html.contains("16.2 kB</span>, <span class=\"share\">54 % of JPEG"))
        #expect(html.contains("WebP <span class=\"bytes\">40.0 kB</span>"))
        #expect(html.contains("not stored yet"))
        // The thumbnail was not looked up: neither stored nor missing.
        #expect(html.contains("<figcaption>—</figcaption>"))
        #expect(html.contains("Bytes were looked up for the first 9 of the page's 10 renditions only"))
        #expect(!html.contains("<img src=x") && !html.contains("<script"))
    }
}
