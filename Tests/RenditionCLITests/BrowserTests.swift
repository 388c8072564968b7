import Foundation
import TestSupport
import Testing
import Vips

/// What headless Chromium saw on a page (see `Tests/browser/check_page.py`).
struct BrowserCheck: Decodable {
    struct Image: Decodable {
        let src: String
        let alt: String?
        let complete: Bool
        let naturalWidth: Int
    }

    struct Focused: Decodable {
        let tag: String?
        let text: String?
    }

    let title: String
    let images: [Image]
    let errors: [String]
    let focused: Focused
    let screenshot: String

    /// Screenshots land here, to be kept as test artifacts.
    static var artifacts: URL { Repository.root().appendingPathComponent(".build/artifacts") }

    static let chromium = "/usr/bin/chromium"

    /// Loads `url` in headless Chromium, waits for every image, and saves a screenshot as `name`.png.
    static func load(_ url: String, screenshot name: String) throws -> BrowserCheck {
        guard FileManager.default.isExecutableFile(atPath: chromium) else {
            throw FixtureError(
                "Chromium is not installed at \(chromium); run `make test-setup` (apt-get install chromium)")
        }
        let errors = FileManager.default.temporaryDirectory.appendingPathComponent("check-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errors) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", Repository.root().appendingPathComponent("Tests/browser/check_page.py").path,
            "--chromium", chromium, "--url", url,
            "--screenshot", artifacts.appendingPathComponent("\(name).png").path,
        ]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let message = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            throw FixtureError("check_page.py failed (pip install websockets; apt-get install chromium): \(message)")
        }
        return try JSONDecoder().decode(BrowserCheck.self, from: output)
    }

    /// Every image loaded with pixels and alt text, no console error, and the keyboard reaches a link.
    func expectEverythingLoaded(images count: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(images.count == count, "images: \(images.map(\.src))", sourceLocation: sourceLocation)
        for image in images {
            #expect(
                image.complete && image.naturalWidth > 0, "not loaded: \(image.src)", sourceLocation: sourceLocation)
            #expect(image.alt?.isEmpty == false, "no alt text: \(image.src)", sourceLocation: sourceLocation)
        }
        #expect(errors.isEmpty, "console errors: \(errors)", sourceLocation: sourceLocation)
        #expect(focused.tag == "A" || focused.tag == "DIV", "Tab focused \(String(describing: focused.tag))")
        let size = (try? FileManager.default.attributesOfItem(atPath: screenshot)[.size] as? Int) ?? 0
        #expect(size > 1000, "screenshot \(screenshot)", sourceLocation: sourceLocation)
    }
}

let hostileName = "<img src=x onerror=alert(1)>.jpg"

/// `rendition preview` and the server's studio page, checked in a real browser.
@Suite(.serialized) struct BrowserTests {
    init() throws { try VipsRuntime.start() }

    /// Three originals: a photo, a small PNG (the 400×400 thumbnail and 1600-wide hero cannot enlarge it),
    /// and a file whose name is markup.
    func writeOriginals(_ workspace: Workspace, into folder: String) throws {
        try workspace.write("\(folder)/photo.jpg", try Fixtures.jpeg(Fixtures.photo(width: 1200, height: 800)))
        try workspace.write("\(folder)/small.png", try Fixtures.photo(width: 160, height: 100).pngData())
        try workspace.write(
            "\(folder)/users/\(hostileName)", try Fixtures.jpeg(Fixtures.upright(width: 600, height: 900)))
    }

    @Test func previewReportLoadsInChromium() throws {
        let workspace = try Workspace()
        try writeOriginals(workspace, into: "originals")
        let run = try CLI.run(["preview", "--originals", "originals", "--out", "report"], in: workspace.url)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("3 originals × \(shippedPlans.count) presets"), "\(run.stdout)")
        let html = String(decoding: try workspace.read("report/index.html"), as: UTF8.self)
        #expect(html.contains("users/&lt;img src=x onerror=alert(1)&gt;.jpg"))
        #expect(!html.contains("<img src=x"))
        #expect(html.contains("class=\"badge clamp\""))
        let files = try workspace.files()
        #expect(files.contains("report/r0/thumbnail.webp"))
        // Every form of every preset, for every original: `card` in each size and each candidate format.
        let card = try #require(shippedPlans["card"])
        #expect(card.allForms.count > 1)
        for row in 0..<3 {
            for form in card.allForms where form.form != card.form {
                let file = "report/r\(row)/\(form.form.segment(preset: "card")).\(form.output.fileExtension)"
                #expect(files.contains(file), "\(file)")
                let link = file.dropFirst("report/".count).replacingOccurrences(of: "@", with: "%40")
                #expect(html.contains(#"src="\#(link)""#), "\(file)")
            }
        }
        #expect(html.contains(" % of JPEG"))
        // small.png (160 px wide) cannot fill card's width variants with enlarge: false.
        #expect(html.contains("capped (enlarge: false)"))
        let forms = shippedPlans.values.map(reportForms).reduce(0, +)
        #expect(run.stdout.contains("\(3 * forms) renditions"), "\(run.stdout)")

        let page = workspace.url.appendingPathComponent("report/index.html").absoluteString
        let check = try BrowserCheck.load(page, screenshot: "preview-report")
        check.expectEverythingLoaded(images: 3 * forms)
        #expect(check.title == "Preset preview")
        #expect(
            check.images.contains {
                $0.src.hasSuffix("/r0/card%40800w%40webp.webp") && $0.alt?.contains("WebP") == true
            })
    }

    @Test func compareModeShowsAChangedPresetSideBySide() throws {
        let workspace = try Workspace()
        try writeOriginals(workspace, into: "originals")
        try FileManager.default.copyItem(
            at: workspace.url.appendingPathComponent("pipelines"), to: workspace.url.appendingPathComponent("base"))
        let thumbnail = workspace.url.appendingPathComponent("pipelines/thumbnail.yaml")
        try String(contentsOf: thumbnail, encoding: .utf8).replacingOccurrences(of: "400", with: "200")
            .write(to: thumbnail, atomically: true, encoding: .utf8)

        let run = try CLI.run(
            ["preview", "--base", "base", "--originals", "originals", "--out", "review"], in: workspace.url)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("3 originals × 1 presets: thumbnail (changed)"), "\(run.stdout)")
        let html = String(decoding: try workspace.read("review/index.html"), as: UTF8.self)
        #expect(html.contains(#"src="r0/thumbnail.base.webp""#) && html.contains(#"src="r0/thumbnail.webp""#))
        #expect(html.contains("perceptual distance"))
        #expect(html.contains("<code>avatar</code>, <code>card</code>, <code>hero</code>, <code>original-webp</code>"))

        let page = workspace.url.appendingPathComponent("review/index.html").absoluteString
        let check = try BrowserCheck.load(page, screenshot: "preview-compare")
        // Old and new for each original.
        check.expectEverythingLoaded(images: 6)
    }

    @Test func compareWithAGitRef() throws {
        let workspace = try Workspace()
        try writeOriginals(workspace, into: "originals")
        func git(_ arguments: [String]) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"] + arguments
            process.currentDirectoryURL = workspace.url
            process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
            process.standardError = FileHandle(forWritingAtPath: "/dev/null")
            try process.run()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "git \(arguments)")
        }
        try git(["init", "-q"])
        try git(["add", "pipelines"])
        try git(["commit", "-q", "-m", "presets"])
        let avatar = workspace.url.appendingPathComponent("pipelines/avatar.yaml")
        try String(contentsOf: avatar, encoding: .utf8).replacingOccurrences(of: "quality: 80", with: "quality: 40")
            .write(to: avatar, atomically: true, encoding: .utf8)
        try "stages:\n  - resize: {width: 120}\n  - encode: {format: jpeg}\n".write(
            to: workspace.url.appendingPathComponent("pipelines/banner.yaml"), atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(at: workspace.url.appendingPathComponent("pipelines/hero.yaml"))

        let run = try CLI.run(["preview", "--base", "HEAD", "--originals", "originals"], in: workspace.url)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("avatar (changed), banner (added), hero (removed)"), "\(run.stdout)")
        let html = String(decoding: try workspace.read("report/index.html"), as: UTF8.self)
        #expect(html.contains("compared with <code>HEAD</code>"))
        #expect(html.contains(#"src="r0/avatar.base.webp""#) && html.contains(#"src="r0/hero.base.jpg""#))
        #expect(html.contains("preset removed"))

        let unknown = try CLI.run(["preview", "--base", "no-such-ref", "--originals", "originals"], in: workspace.url)
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("--base no-such-ref: not a folder, and git cannot read"), "\(unknown.stderr)")
    }

    @Test func previewExplainsMissingOriginalsAndUnknownPresets() throws {
        let workspace = try Workspace()
        let missing = try CLI.run(["preview", "--originals", "nowhere"], in: workspace.url)
        #expect(missing.status == 1 && missing.stderr.contains("nowhere: no such folder"), "\(missing.stderr)")
        try writeOriginals(workspace, into: "originals")
        let unknown = try CLI.run(["preview", "nope", "--originals", "originals"], in: workspace.url)
        #expect(unknown.status == 1 && unknown.stderr.contains("unknown preset \"nope\""), "\(unknown.stderr)")
        let one = try CLI.run(["preview", "avatar", "--originals", "originals", "--out", "one"], in: workspace.url)
        #expect(one.status == 0 && one.stdout.contains("3 originals × 1 presets"), "\(one.stdout)\(one.stderr)")
    }

    @Test func liveStudioLoadsInChromiumThroughTheFlow() throws {
        let workspace = try Workspace()
        try writeOriginals(workspace, into: "data/originals")
        // Not the embedded default if the test runner has RENDITION_* settings of its own.
        let server = try ServeProcess(
            in: workspace.url,
            environment: ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("RENDITION_") })
        defer { server.stop() }
        let origin = server.base
        let page = try Curl.get("\(origin)/studio")
        #expect(page.status == 200 && page.header("Cache-Control") == "no-store")

        let check = try BrowserCheck.load("\(origin)/studio", screenshot: "studio-live")
        // sample.jpg (written by serve) and the three originals, through each shipped preset and each
        // form of a preset with forms (every candidate format at its stored form, every size variant).
        check.expectEverythingLoaded(images: 4 * shippedPlans.values.map(studioImages).reduce(0, +))
        #expect(
            check.images.contains {
                $0.src.hasSuffix("/thumbnail/users/%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E.jpg")
            })
        let card = try #require(shippedPlans["card"])
        for format in card.formats {
            #expect(check.images.contains { $0.src.hasSuffix("/card%40\(format.token)/photo.jpg") }, "\(format)")
        }
        for size in card.variants.sizes where size != .base {
            let segment = "card" + size.suffix.replacingOccurrences(of: "@", with: "%40")
            #expect(check.images.contains { $0.src.hasSuffix("/\(segment)/photo.jpg") }, "\(size)")
        }
        // The browser walked the flow: a 307 and a render for every rendition it asked for (each once,
        // though two images may ask for one: the public URL and the stored form of the format negotiated).
        let metrics = String(decoding: try Curl.get("\(origin)/metrics").body, as: UTF8.self)
        let renders = 4 * shippedPlans.values.map { studioRenditions($0).count }.reduce(0, +)
        #expect(metrics.contains("rendition_renders_total \(renders)\n"), "\(metrics)")
        for (route, status) in [("render", "301"), ("origin", "307")] {
            let count = metrics.split(separator: "\n").first {
                $0.hasPrefix("rendition_http_requests_total{route=\"\(route)\",status=\"\(status)\"} ")
            }.flatMap { Int($0.split(separator: " ").last!) }
            #expect((count ?? 0) >= renders, "\(route) \(status): \(metrics)")
        }

        // Now that they are stored, the page shows the bytes of each, and each stored form serves its format.
        let again = String(decoding: try Curl.get("\(origin)/studio").body, as: UTF8.self)
        #expect(again.contains(" % of JPEG"))
        for format in card.formats {
            let image = try Curl.get(
                "\(origin)/card@\(format.token)/photo.jpg", headers: ["Accept: \(chromiumImageAccept)"])
            #expect(image.status == 200 && image.header("Content-Type") == format.mediaType, "\(format)")
        }
    }
}
