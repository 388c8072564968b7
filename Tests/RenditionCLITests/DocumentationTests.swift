import Foundation
import TestSupport
import Testing

/// The README is the front door and `docs/` holds the rest: links between them resolve, to the heading they
/// name, and the README's stage table is what `rendition stages --markdown` prints.
@Suite struct DocumentationTests {
    /// The Markdown pages users read: the README, every page under `docs/`, and the stage modules' pointer.
    static func pages() throws -> [URL] {
        let root = Repository.root()
        let docs = root.appendingPathComponent("docs")
        let names = try FileManager.default.contentsOfDirectory(atPath: docs.path).filter { $0.hasSuffix(".md") }
        return [root.appendingPathComponent("README.md"), root.appendingPathComponent("Plugins/README.md")]
            + names.sorted().map { docs.appendingPathComponent($0) }
    }

    /// GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens.
    static func anchor(_ heading: String) -> String {
        String(
            heading.lowercased().unicodeScalars.compactMap { scalar -> Character? in
                if scalar == " " { return "-" }
                if scalar == "-" || scalar == "_" || CharacterSet.alphanumerics.contains(scalar) {
                    return Character(scalar)
                }
                return nil
            })
    }

    /// The anchors of a page's headings (outside code blocks).
    static func anchors(_ text: String) -> Set<String> {
        var fenced = false
        var found: Set<String> = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```") { fenced.toggle() }
            guard !fenced, let hashes = line.firstIndex(where: { $0 != "#" }), hashes != line.startIndex,
                line[hashes] == " "
            else { continue }
            found.insert(anchor(String(line[line.index(after: hashes)...])))
        }
        return found
    }

    @Test func everyLinkBetweenPagesResolves() throws {
        let pages = try Self.pages()
        #expect(pages.count >= 12)
        let link = try Regex(#"\]\(([^)\s]+)\)"#)
        var checked = 0
        for page in pages {
            let text = try String(contentsOf: page, encoding: .utf8)
            for match in text.matches(of: link) {
                let target = String(match.output[1].substring ?? "")
                guard !target.contains("://"), !target.hasPrefix("mailto:") else { continue }
                let parts = target.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)
                let file =
                    parts[0].isEmpty
                    ? page : page.deletingLastPathComponent().appendingPathComponent(String(parts[0])).standardized
                #expect(
                    FileManager.default.fileExists(atPath: file.path), "\(page.lastPathComponent): \(target)")
                if parts.count == 2, file.pathExtension == "md" {
                    let headings = Self.anchors((try? String(contentsOf: file, encoding: .utf8)) ?? "")
                    #expect(
                        headings.contains(String(parts[1])),
                        "\(page.lastPathComponent): \(target) names no heading of \(file.lastPathComponent)")
                }
                checked += 1
            }
        }
        #expect(checked >= 20, "the README links every page of docs/")
    }

    @Test func anchorsAreGitHubs() {
        #expect(Self.anchor("Keeping renditions fresh") == "keeping-renditions-fresh")
        #expect(Self.anchor("libvips findings (8.14, Debian 12)") == "libvips-findings-814-debian-12")
        #expect(Self.anchor("The function (AWS Lambda)") == "the-function-aws-lambda")
    }

    @Test func theReadmeIsAFrontDoorWithTheGeneratedStageTable() throws {
        let readme = try String(contentsOf: Repository.root().appendingPathComponent("README.md"), encoding: .utf8)
        #expect(readme.split(separator: "\n", omittingEmptySubsequences: false).count <= 350)
        let begin = try #require(readme.range(of: "<!-- stages:begin -->\n"))
        let end = try #require(readme.range(of: "\n<!-- stages:end -->"))
        let table = String(readme[begin.upperBound..<end.lowerBound])
        let generated = try CLI.run(["stages", "--markdown"])
        #expect(generated.status == 0)
        #expect(
            table == generated.stdout.trimmingCharacters(in: .newlines),
            "the README's stage table is stale: run `make schema`")
    }
}
