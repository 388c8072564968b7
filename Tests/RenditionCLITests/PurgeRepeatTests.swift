import Foundation
import TestSupport
import Testing

/// The purge contract as users run it, on the folder store and on S3 (moto), with the release binary `make test`
/// builds: `purge --key` selects every preset's renditions of the key, each form folder too, the same set on every
/// run, and removes exactly that; `--stale` after a preset change the same. Issue 26: the optimized build listed one
/// rendition of two, a different one from run to run, or trapped.
@Suite(.serialized) struct PurgeRepeatTests {
    /// Three presets: two fixed-format ones and `card` (size variants, `format: auto`) in six forms.
    static let segments = [
        "thumbnail", "avatar", "card@avif", "card@webp", "card@jpeg", "card@200w@webp", "card@2x@avif",
    ]
    static let originals = (0..<20).map { "users/\($0)/me.jpg" }
    static let key = "users/7/me.jpg"

    /// Renders every segment of every original through `rendition serve` in `workspace` (originals already in the
    /// source store `environment` names).
    static func renderAll(in workspace: Workspace, environment: [String: String]) throws {
        let server = try ServeProcess(
            in: workspace.url, arguments: ["--no-sample"],
            environment: ProcessInfo.processInfo.environment.merging(environment) { _, added in added })
        defer { server.stop() }
        for key in originals {
            for segment in segments {
                let reply = try Curl.get("\(server.base)/_render/\(segment)/\(key)")
                #expect(reply.status == 301, "\(segment)/\(key): \(server.logText.suffix(500))")
            }
        }
    }

    /// An original of its own size for each key, as JPEG bytes.
    static func originalBytes(_ index: Int) throws -> [UInt8] {
        try Fixtures.jpeg(Fixtures.photo(width: 320 + 8 * index, height: 240))
    }

    /// `purge` with `arguments` and `--json`: its exit status and the store keys it reports.
    static func purge(_ arguments: [String], in workspace: Workspace, environment: [String: String]) throws -> (
        status: Int32, keys: [String], text: String
    ) {
        let run = try CLI.run(["purge"] + arguments + ["--json"], in: workspace.url, environment: environment)
        let report = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        let keys = (report?["purged"] as? [[String: Any]] ?? []).compactMap { $0["key"] as? String }
        return (run.status, keys, run.stdout + run.stderr)
    }

    /// The contract on one pair of stores: `list` gives every rendition key there is.
    static func checkContract(
        in workspace: Workspace, environment: [String: String], list: () throws -> Set<String>
    ) throws {
        let all = try list()
        #expect(all.count == segments.count * originals.count)
        let ofKey = Set(segments.map { "\($0)/\(key)" })
        for run in 0..<20 {
            let dry = try purge(["--key", key, "--dry-run"], in: workspace, environment: environment)
            #expect(dry.status == 0 && dry.keys.sorted() == ofKey.sorted(), "dry run \(run): \(dry.text)")
        }
        #expect(try list() == all, "dry runs delete nothing")
        let text = try CLI.run(["purge", "--key", key], in: workspace.url, environment: environment)
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.split(separator: "\n").dropLast().sorted() == ofKey.map { "/\($0)" }.sorted())
        #expect(text.stdout.contains("purged 7 renditions of 3 presets"), "\(text.stdout)")
        #expect(try list() == all.subtracting(ofKey), "exactly the key's renditions are gone")

        let none = try CLI.run(["purge", "--key", key], in: workspace.url, environment: environment)
        #expect(none.status == 0 && none.stdout.contains("nothing to purge"), "\(none.stdout)\(none.stderr)")
        #expect(try list() == all.subtracting(ofKey))

        // thumbnail's quality changes: each of its 19 renditions left is stale, and nothing else.
        let thumbnail = workspace.url.appendingPathComponent("pipelines/thumbnail.yaml")
        let yaml = try String(contentsOf: thumbnail, encoding: .utf8)
        try yaml.replacingOccurrences(of: "quality: 80", with: "quality: 70").write(
            to: thumbnail, atomically: true, encoding: .utf8)
        let stale = Set(all.subtracting(ofKey).filter { $0.hasPrefix("thumbnail/") })
        #expect(stale.count == originals.count - 1)
        for run in 0..<20 {
            let dry = try purge(["--stale", "--dry-run"], in: workspace, environment: environment)
            #expect(dry.status == 0 && dry.keys.sorted() == stale.sorted(), "stale dry run \(run): \(dry.text)")
        }
        let purged = try purge(["--stale"], in: workspace, environment: environment)
        #expect(purged.status == 0 && purged.keys.sorted() == stale.sorted(), "\(purged.text)")
        #expect(try list() == all.subtracting(ofKey).subtracting(stale))
    }

    @Test func onTheFolderStore() throws {
        let workspace = try Workspace()
        for (index, key) in Self.originals.enumerated() {
            try workspace.write("data/originals/\(key)", try Self.originalBytes(index))
        }
        try Self.renderAll(in: workspace, environment: [:])
        let renditions = workspace.url.appendingPathComponent("data/renditions")
        let originals = try snapshot(workspace.url.appendingPathComponent("data/originals"))
        try Self.checkContract(in: workspace, environment: [:]) { Set(try snapshot(renditions).keys) }
        #expect(
            try snapshot(workspace.url.appendingPathComponent("data/originals")) == originals,
            "no original touched")
    }

    @Test func onS3() throws {
        let stores = try S3Stores()
        let workspace = try Workspace()
        for (index, key) in Self.originals.enumerated() {
            try workspace.write("originals/\(key)", try Self.originalBytes(index))
        }
        _ = try Moto.boto3(
            """
            import os
            root = "\(workspace.url.path)/originals/"
            for folder, _, files in os.walk(root):
                for name in files:
                    path = os.path.join(folder, name)
                    s3.put_object(Bucket="\(stores.originals)", Key=path[len(root):], Body=open(path, "rb").read(),
                                  ContentType="image/jpeg")
            """)
        try Self.renderAll(in: workspace, environment: stores.environment)
        try Self.checkContract(in: workspace, environment: stores.environment) {
            Set(try Moto.keys(stores.renditions))
        }
        #expect(try Moto.keys(stores.originals) == Self.originals.sorted(), "no original touched")
    }
}
