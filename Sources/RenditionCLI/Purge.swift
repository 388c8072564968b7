import ArgumentParser
import AsyncHTTPClient
import Foundation
import ObjectStorage
import RenditionService
import S3Storage

struct Purge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Delete renditions from the rendition store, so the next request renders them again.",
        discussion: """
            Reads the same configuration as `serve` (rendition.yaml, RENDITION_* variables). Exactly one selector: \
            --preset, --key, --stale or --all. Never deletes an original: it refuses to run when the source and \
            rendition stores overlap. Prints each purged rendition's public path (what a CDN must invalidate) and a \
            summary; exits 1 when any rendition could not be examined or deleted, 2 when it refuses to start.
            """
    )

    @Option(name: .long, help: "Every rendition of this preset (a current or a removed one).")
    var preset: String?

    @Option(name: .long, help: "Every preset's rendition of the original with this key, such as users/42/me.jpg.")
    var key: String?

    @Flag(name: .long, help: "Renditions whose preset changed or is gone, or whose original was replaced or deleted.")
    var stale = false

    @Flag(name: .long, help: "Every rendition.")
    var all = false

    @Flag(name: .long, help: "List what would be deleted; delete nothing.")
    var dryRun = false

    @Flag(name: .long, help: "One JSON document on standard output, for scripts.")
    var json = false

    @Option(
        name: .customLong("invalidate-cloudfront"),
        help: .init(
            "Send a CloudFront invalidation for the purged paths to this distribution (default: cdn.cloudfrontDistribution, if set).",
            valueName: "distribution-id"))
    var distribution: String?

    @Option(name: .long, help: "Configuration file (default: rendition.yaml if it exists).")
    var config: String?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let selector = try refusingOnError { try self.selector() }
        let configuration = try refusingOnError {
            let configuration = try RenditionConfiguration.load(file: config, environment: environment)
            if let overlap = configuration.storeOverlap {
                throw CLIError(
                    "the stores overlap: \(overlap); a purge could delete originals, so it does not run. Give the renditions their own folder, bucket or prefix."
                )
            }
            return configuration
        }
        let plans = try refusingOnError { try configuration.loadPipelines() }
        let stores = try refusingOnError { try configuration.makeStores(environment: environment) }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            let invalidator = try refusingOnError {
                try configuration.makeInvalidator(
                    distributionID: distribution, environment: environment, client: client)
            }
            try await purge(
                selector, Purger(plans: plans, source: stores.source, renditions: stores.renditions),
                invalidator: invalidator)
        } catch {
            try? await client.shutdown()
            await stores.shutdown()
            throw error
        }
        try? await client.shutdown()
        await stores.shutdown()
    }

    /// Runs the purge, reports it, and exits 1 if anything failed.
    func purge(_ selector: PurgeSelector, _ purger: Purger, invalidator: CloudFrontInvalidator?) async throws {
        let showProgress = Console.stderrIsTerminal && !json
        let report = await purger.run(selector, dryRun: dryRun) { report in
            guard showProgress else { return }
            FileHandle.standardError.write(
                Data(
                    "\r\u{1B}[Kpurging: \(grouped(report.examined)) examined, \(grouped(report.purged.count)) \(dryRun ? "selected" : "purged"), \(formatBytes(report.bytes))"
                        .utf8))
        }
        if showProgress { FileHandle.standardError.write(Data("\n".utf8)) }

        var invalidation: (id: String, paths: [String])?
        var invalidationError: StorageError?
        if let invalidator, !dryRun, !report.purged.isEmpty {
            let paths = CloudFrontInvalidator.paths(for: report.purged.map(\.publicPath))
            do {
                invalidation = (try await invalidator.invalidate(paths), paths)
            } catch {
                invalidationError = error
            }
        }

        if json {
            print(
                jsonDocument(
                    report, invalidator: invalidator, invalidation: invalidation,
                    invalidationError: invalidationError))
        } else {
            for item in report.purged {
                print(
                    dryRun
                        ? "would purge \(item.publicPath)  (\(formatBytes(item.size)), \(item.reason))"
                        : item.publicPath)
            }
            for failure in report.failures {
                Console.error("failed \(failure.key): \(failure.error.code.rawValue): \(failure.error.message)")
            }
            if let error = report.listingError {
                Console.error("listing stopped: \(error.code.rawValue): \(error.message)")
            }
            if let invalidation, let invalidator {
                print(
                    "invalidation \(invalidation.id) sent to \(invalidator.distributionID) for \(invalidation.paths.count) paths"
                )
            }
            if let invalidationError {
                Console.error("invalidation failed: \(invalidationError.code.rawValue): \(invalidationError.message)")
            }
            let (count, presets) = (report.purged.count, report.presets.count)
            if count == 0 && report.succeeded {
                print("nothing to purge: no rendition matched, nothing was deleted")
            } else {
                print(
                    "\(dryRun ? "would purge" : "purged") \(grouped(count)) rendition\(count == 1 ? "" : "s") of \(presets) preset\(presets == 1 ? "" : "s"), \(formatBytes(report.bytes))"
                        + (dryRun ? "; nothing was deleted (dry run)" : "")
                        + (report.succeeded ? "" : "; \(grouped(report.failures.count)) failed"))
            }
        }
        if !report.succeeded || invalidationError != nil { throw ExitCode(1) }
    }

    /// The one selector given, or why the flags do not name exactly one.
    func selector() throws -> PurgeSelector {
        var chosen: [(String, PurgeSelector)] = []
        if let preset {
            guard !preset.isEmpty, !preset.contains("/"), ObjectKey.problem(with: preset) == nil else {
                throw CLIError("--preset \"\(preset)\" is not a preset name (one path segment)")
            }
            chosen.append(("--preset", .preset(preset)))
        }
        if let key {
            do {
                chosen.append(("--key", .key(try ObjectKey(key))))
            } catch {
                throw CLIError("--key: \(error.message)")
            }
        }
        if stale { chosen.append(("--stale", .stale)) }
        if all { chosen.append(("--all", .all)) }
        guard let first = chosen.first else {
            throw CLIError("say what to purge: --preset NAME, --key KEY, --stale or --all (nothing was deleted)")
        }
        guard chosen.count == 1 else {
            throw CLIError(
                "\(chosen.map(\.0).joined(separator: " and ")) conflict: give exactly one selector (nothing was deleted)"
            )
        }
        return first.1
    }

    /// Runs `body`, turning a failure into a message and exit status 2: the purge did not start.
    func refusingOnError<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            Console.error("rendition purge: cannot start:\n\(error)")
            throw ExitCode(2)
        }
    }

    func jsonDocument(
        _ report: PurgeReport, invalidator: CloudFrontInvalidator?,
        invalidation: (id: String, paths: [String])?, invalidationError: StorageError?
    ) -> String {
        func error(_ error: StorageError) -> [String: Any] { ["code": error.code.rawValue, "message": error.message] }
        var document: [String: Any] = [
            "dryRun": dryRun,
            "examined": report.examined,
            "purged": report.purged.map {
                ["key": $0.key.rawValue, "path": $0.publicPath, "bytes": $0.size, "reason": $0.reason] as [String: Any]
            },
            "renditions": report.purged.count,
            "presets": report.presets.sorted(),
            "bytes": report.bytes,
            "failures": report.failures.map { ["key": $0.key.rawValue].merging(error($0.error)) { a, _ in a } },
        ]
        if let listingError = report.listingError { document["listingError"] = error(listingError) }
        if let invalidator {
            var entry: [String: Any] = ["distribution": invalidator.distributionID]
            if let invalidation {
                entry["id"] = invalidation.id
                entry["paths"] = invalidation.paths
            }
            if let invalidationError { entry["error"] = error(invalidationError) }
            document["invalidation"] = entry
        }
        let data = (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

/// `1204` as `1,204`.
func grouped(_ count: Int) -> String {
    let digits = String(count)
    var result = ""
    for (index, digit) in digits.enumerated() {
        if index > 0, (digits.count - index) % 3 == 0 { result += "," }
        result.append(digit)
    }
    return result
}
