import Foundation
import TestSupport
import Testing
import Vips

/// `rendition srcset` and `rendition plan`'s list of renditions: URLs and sizes a page can use as they are.
@Suite(.serialized) struct SrcsetTests {
    init() throws { try VipsRuntime.start() }

    func workspace(width: Int, height: Int) throws -> Workspace {
        let workspace = try Workspace()
        try workspace.write("photo.jpg", try Fixtures.jpeg(Fixtures.photo(width: width, height: height)))
        return workspace
    }

    @Test func everyWidthIsWhatTheVariantReallyIs() throws {
        let workspace = try workspace(width: 1200, height: 900)
        let run = try CLI.run(
            ["srcset", "card", "a b/photo.jpg", "--input", "photo.jpg", "--base", "https://img.example.com"],
            in: workspace.url)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(
            run.stdout
                == #"<img src="https://img.example.com/card/a%20b/photo.jpg" srcset="https://img.example.com/card@200w/a%20b/photo.jpg 200w, https://img.example.com/card/a%20b/photo.jpg 400w, https://img.example.com/card@800w/a%20b/photo.jpg 800w" sizes="(max-width: 400px) 100vw, 400px" width="400" height="300" alt="">"#
                + "\n")
    }

    @Test func aCappedVariantIsListedAtItsRealWidthOnce() throws {
        let workspace = try workspace(width: 500, height: 250)
        let run = try CLI.run(
            ["srcset", "card", "p.jpg", "--input", "photo.jpg", "--sizes", "50vw"], in: workspace.url)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains(#"srcset="/card@200w/p.jpg 200w, /card/p.jpg 400w, /card@800w/p.jpg 500w""#))
        #expect(run.stdout.contains(#"sizes="50vw""#) && !run.stdout.contains("@2x"), "2x is 800w, capped at 500 too")
    }

    @Test func aFamilyOfFixedFormatsIsAPicture() throws {
        let workspace = try workspace(width: 1200, height: 900)
        let run = try CLI.run(["srcset", "original-webp,hero", "p.jpg", "--input", "photo.jpg"], in: workspace.url)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.hasPrefix("<picture>\n  <source type=\"image/webp\" srcset=\"/original-webp/p.jpg 1x\">"))
        #expect(run.stdout.contains(#"<img src="/hero/p.jpg" width="1200" height="900" alt="">"#))
        let negotiating = try CLI.run(["srcset", "card,hero", "p.jpg", "--input", "photo.jpg"], in: workspace.url)
        #expect(negotiating.status == 1 && negotiating.stderr.contains("card chooses its format per request"))
        let missing = try CLI.run(["srcset", "card", "nope.jpg"], in: workspace.url)
        #expect(missing.status == 1 && missing.stderr.contains("no original at \"nope.jpg\""), "\(missing.stderr)")
    }

    @Test func planListsEveryURLAndFormatAndSaysWhenAVariantIsCapped() throws {
        let workspace = try workspace(width: 500, height: 250)
        let run = try CLI.run(["plan", "card", "--input", "photo.jpg"], in: workspace.url)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("  /card@200w/{key}         avif | webp | jpeg  (stored as card@200w@avif/"))
        #expect(run.stdout.contains("/card@800w/{key}") && run.stdout.contains("→ 500×250 (capped: enlarge: false)"))
        let json = try CLI.run(["plan", "card", "--json"], in: workspace.url)
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let renditions = object?["renditions"] as? [[String: Any]] ?? []
        #expect(renditions.count == 15)
        #expect(
            renditions.contains {
                $0["key"] as? String == "card@2x@webp/{key}" && $0["url"] as? String == "/card@2x/{key}"
            })
    }
}
