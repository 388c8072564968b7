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
}
