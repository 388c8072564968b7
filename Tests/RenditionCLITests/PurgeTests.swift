import Foundation
import TestSupport
import Testing

/// Every file under `folder` (the stores' own `.rendition` folders left out) and a digest of its bytes.
func snapshot(_ folder: URL) throws -> [String: Int] {
    var files: [String: Int] = [:]
    let root = folder.standardizedFileURL.path + "/"
    for case let url as URL in FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil)! {
        let path = url.standardizedFileURL.path
        guard !path.contains("/.rendition/"),
            (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true
        else { continue }
        files[String(path.dropFirst(root.count))] = try Data(contentsOf: url).hashValue
    }
    return files
}

/// Runs `purge --stale --dry-run --json` in `workspace` and expects the three stale renditions of the freshness
/// tests (avatar's quality changed, original users/43/me.jpg replaced), each with its reason.
func expectStaleDryRun(in workspace: Workspace, environment: [String: String] = [:]) throws {
    let dry = try CLI.run(["purge", "--stale", "--dry-run", "--json"], in: workspace.url, environment: environment)
    #expect(dry.status == 0, "\(dry.stderr)")
    let report = try #require(try JSONSerialization.jsonObject(with: Data(dry.stdout.utf8)) as? [String: Any])
    let listed = (report["purged"] as? [[String: Any]] ?? []).map { "\($0["key"]!) \($0["reason"]!)" }
    #expect(
        listed == [
            "avatar/users/42/me.jpg preset changed", "avatar/users/43/me.jpg preset changed",
            "thumbnail/users/43/me.jpg original replaced",
        ])
    #expect(report["dryRun"] as? Bool == true && report["renditions"] as? Int == 3)
}

/// A workspace whose folder stores hold renditions of `originals` by `presets`, rendered through a real server.
func renderedWorkspace(
    originals: [String] = ["users/42/me.jpg", "users/43/me.jpg"], presets: [String] = ["thumbnail", "avatar"]
) throws -> Workspace {
    let workspace = try Workspace()
    for (index, key) in originals.enumerated() {
        try workspace.write(
            "data/originals/\(key)", try Fixtures.jpeg(Fixtures.photo(width: 900 + 100 * index, height: 600)))
    }
    let server = try ServeProcess(in: workspace.url, arguments: ["--no-sample"])
    defer { server.stop() }
    for preset in presets {
        for key in originals {
            let reply = try Curl.get("\(server.base)/_render/\(preset)/\(key)")
            #expect(reply.status == 301, "\(preset)/\(key)")
        }
    }
    return workspace
}

@Suite(.serialized) struct PurgeTests {
    @Test func aChangedPresetIsRenderedAgainWithoutAPurge() throws {
        let workspace = try renderedWorkspace(originals: ["users/42/me.jpg"], presets: ["thumbnail"])
        var server = try ServeProcess(in: workspace.url, arguments: ["--no-sample"])
        let before = try Curl.get("\(server.base)/thumbnail/users/42/me.jpg")
        #expect(before.status == 200)
        server.stop()

        let preset = workspace.url.appendingPathComponent("pipelines/thumbnail.yaml")
        let text = try String(contentsOf: preset, encoding: .utf8)
        try text.replacingOccurrences(of: "quality: 80", with: "quality: 50").write(
            to: preset, atomically: true, encoding: .utf8)
        server = try ServeProcess(in: workspace.url, arguments: ["--no-sample"])
        defer { server.stop() }
        let miss = try Curl.get("\(server.base)/thumbnail/users/42/me.jpg")
        #expect(miss.status == 307 && miss.header("cache-control") == "no-store")
        let after = try Curl.get("\(server.base)/thumbnail/users/42/me.jpg", follow: true)
        #expect(after.status == 200 && after.redirects == 2)
        #expect(after.header("etag") != nil && after.header("etag") != before.header("etag"))
        #expect(after.body.count < before.body.count, "quality 50 weighs less than 80")
        let metrics = String(decoding: try Curl.get("\(server.base)/metrics").body, as: UTF8.self)
        #expect(metrics.contains("rendition_stale_renditions_total"))
        #expect(try Curl.get("\(server.base)/thumbnail/users/42/me.jpg").status == 200, "current from now on")
    }

    @Test func byKeyRemovesExactlyThatOriginalsRenditions() throws {
        let workspace = try renderedWorkspace()
        let data = workspace.url.appendingPathComponent("data")
        let before = try snapshot(data)
        let run = try CLI.run(["purge", "--key", "users/42/me.jpg"], in: workspace.url)
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(
            lines.dropLast() == ["/avatar/users/42/me.jpg", "/thumbnail/users/42/me.jpg"], "the paths to invalidate")
        #expect(lines.last?.hasPrefix("purged 2 renditions of 2 presets, ") == true, "\(lines)")
        var expected = before
        expected["renditions/avatar/users/42/me.jpg"] = nil
        expected["renditions/thumbnail/users/42/me.jpg"] = nil
        #expect(try snapshot(data) == expected, "every other rendition and every original is byte for byte still there")
    }

    @Test func staleRemovesExactlyTheStaleOnesAndADryRunListsThemFirst() throws {
        let workspace = try renderedWorkspace()
        let avatar = workspace.url.appendingPathComponent("pipelines/avatar.yaml")
        let text = try String(contentsOf: avatar, encoding: .utf8)
        #expect(text.contains("quality: 80"))
        try text.replacingOccurrences(of: "quality: 80", with: "quality: 70").write(
            to: avatar, atomically: true, encoding: .utf8)
        try workspace.write(
            "data/originals/users/43/me.jpg", try Fixtures.jpeg(Fixtures.photo(width: 500, height: 500)))
        let data = workspace.url.appendingPathComponent("data")
        let before = try snapshot(data)

        try expectStaleDryRun(in: workspace)
        #expect(try snapshot(data) == before, "a dry run changes nothing")

        let run = try CLI.run(["purge", "--stale"], in: workspace.url)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("purged 3 renditions of 2 presets"))
        var expected = before
        for key in ["avatar/users/42/me.jpg", "avatar/users/43/me.jpg", "thumbnail/users/43/me.jpg"] {
            expected["renditions/\(key)"] = nil
        }
        #expect(try snapshot(data) == expected)
        let again = try CLI.run(["purge", "--stale"], in: workspace.url)
        #expect(again.status == 0 && again.stdout.contains("nothing to purge"), "\(again.stdout)")
    }

    /// Every refusal exits 2 with a message that says what to do, and deletes nothing.
    @Test func refusalsDeleteNothing() throws {
        let workspace = try renderedWorkspace(originals: ["users/42/me.jpg"], presets: ["thumbnail"])
        let data = workspace.url.appendingPathComponent("data")
        let before = try snapshot(data)
        for (arguments, environment, message) in [
            ([String](), [String: String](), "say what to purge: --preset NAME, --key KEY, --stale or --all"),
            (["--preset", "thumbnail", "--all"], [:], "--preset and --all conflict: give exactly one selector"),
            (["--stale", "--key", "users/42/me.jpg"], [:], "--key and --stale conflict"),
            (["--key", "../users/42/me.jpg"], [:], "--key: The key has a '.' or '..' segment"),
            (["--key", String(repeating: "k", count: 1025)], [:], "--key: The key is longer than 1024 bytes"),
            (["--preset", "a/b"], [:], "--preset \"a/b\" is not a preset name"),
            (["--all"], ["RENDITION_RENDITIONS_PATH": "data/originals/renditions"], "the stores overlap"),
            (["--all"], ["RENDITION_RENDITIONS_PATH": "data"], "a purge could delete originals, so it does not run"),
            (["--all", "--invalidate-cloudfront", "not-an-id"], [:], "expected upper-case letters and digits"),
        ] {
            let run = try CLI.run(["purge"] + arguments, in: workspace.url, environment: environment)
            #expect(run.status == 2, "\(arguments)")
            #expect(run.stderr.contains(message), "\(arguments): \(run.stderr)")
            #expect(run.stdout.isEmpty)
            #expect(try snapshot(data) == before, "\(arguments) deleted something")
        }
    }
}
