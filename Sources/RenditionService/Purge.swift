public import Foundation
public import ObjectStorage
public import RenditionCore
internal import Synchronization

/// Which renditions a purge removes.
public enum PurgeSelector: Sendable, Equatable {
    /// Every rendition of one preset (a current or a removed one).
    case preset(String)
    /// Every preset's rendition of one original.
    case key(ObjectKey)
    /// Every rendition whose plan changed, whose original was replaced or deleted, or whose preset is gone.
    case stale
    /// Everything in the rendition store.
    case all
}

/// A rendition a purge removes, and why.
public struct PurgeItem: Sendable, Hashable {
    /// Its key in the rendition store, `{preset}{@size}{@format}/{key}`.
    public let key: ObjectKey
    public let size: Int
    /// `selected` for a preset, key or all purge; for a stale one, what made it stale.
    public let reason: String

    /// The preset whose rendition it is (its folder, without any `@` size or format).
    public var preset: String { RenditionForm.split(String(key.rawValue.prefix { $0 != "/" })).preset }

    /// The public path a CDN caches it under: `/` and each segment percent-encoded.
    public var publicPath: String { "/" + Self.percentEncoded(key.rawValue) }

    /// `path` as a URL path: each `/`-separated segment percent-encoded.
    public static func percentEncoded(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false).map {
            $0.addingPercentEncoding(withAllowedCharacters: segmentAllowed) ?? String($0)
        }.joined(separator: "/")
    }

    private static let segmentAllowed = CharacterSet.urlPathAllowed.subtracting(CharacterSet(charactersIn: "/%?#"))
}

/// What a purge did (or, in a dry run, would do).
public struct PurgeReport: Sendable {
    /// Deleted, or in a dry run selected. A rendition whose delete failed is never here.
    public var purged: [PurgeItem] = []
    /// Renditions that could not be examined or deleted, each with its error.
    public var failures: [DeleteFailure] = []
    /// Why the listing stopped before the end, if it did: what it had reached is in ``purged``.
    public var listingError: StorageError?
    /// Renditions looked at.
    public var examined = 0

    public var bytes: Int { purged.reduce(0) { $0 + $1.size } }
    public var presets: Set<String> { Set(purged.map(\.preset)) }
    /// Whether everything selected is gone (or in a dry run, was listed) and the listing reached its end.
    public var succeeded: Bool { failures.isEmpty && listingError == nil }
}

/// Removes renditions from the rendition store, page by page; never touches the source store except to
/// read originals' metadata for a stale purge. The caller makes sure the two stores do not overlap
/// (``RenditionConfiguration/storeOverlap``).
public struct Purger: Sendable {
    public let plans: [String: PipelinePlan]
    public let source: any ObjectStore
    public let renditions: any ObjectStore
    /// Metadata reads in flight at once (stale purges, key purges).
    public var concurrency = 16
    /// Keys per listing page and delete batch.
    public var pageSize = 1000

    public init(plans: [String: PipelinePlan], source: any ObjectStore, renditions: any ObjectStore) {
        self.plans = plans
        self.source = source
        self.renditions = renditions
    }

    /// Runs the purge, calling `progress` after each page. Deletes nothing when `dryRun`.
    public func run(
        _ selector: PurgeSelector, dryRun: Bool, progress: @Sendable (PurgeReport) -> Void = { _ in }
    ) async -> PurgeReport {
        var report = PurgeReport()
        var continuation: String?
        let originals = OriginalETags()
        repeat {
            let page: ListPage
            do {
                page = try await renditions.listPage(
                    prefix: prefix(selector), delimiter: selector.isKey ? "/" : nil, continuation: continuation,
                    limit: pageSize)
            } catch {
                report.listingError = error
                break
            }
            continuation = page.continuation
            let (selected, failures) = await select(selector, page, originals)
            report.examined += selector.isKey ? page.folders.count : page.objects.count
            report.failures += failures
            if dryRun {
                report.purged += selected
            } else {
                let failed: [DeleteFailure]
                do {
                    failed = try await renditions.delete(selected.map(\.key))
                } catch {
                    failed = selected.map { DeleteFailure(key: $0.key, error: error) }
                }
                let failedKeys = Set(failed.map(\.key))
                report.purged += selected.filter { !failedKeys.contains($0.key) }
                report.failures += failed
            }
            progress(report)
        } while continuation != nil
        return report
    }

    private func prefix(_ selector: PurgeSelector) -> String {
        if case .preset(let name) = selector { return name }
        return ""
    }

    /// The renditions of one listing page the selector picks, and those it could not decide about.
    private func select(_ selector: PurgeSelector, _ page: ListPage, _ originals: OriginalETags) async -> (
        [PurgeItem], [DeleteFailure]
    ) {
        switch selector {
        case .preset(let name):
            // The listing's prefix is the bare name, so `cards/…` comes too; only this preset's folders count.
            let items = page.objects.map { PurgeItem(key: $0.key, size: $0.size, reason: "selected") }
            return (items.filter { $0.preset == name }, [])
        case .all:
            return (page.objects.map { PurgeItem(key: $0.key, size: $0.size, reason: "selected") }, [])
        case .key(let original):
            let candidates = page.folders.compactMap { try? ObjectKey($0 + original.rawValue) }
            return await decide(candidates) { key throws(StorageError) in
                try await renditions.head(key).map { PurgeItem(key: key, size: $0.size, reason: "selected") }
            }
        case .stale:
            return await decide(page.objects.map(\.key)) { key throws(StorageError) in
                try await staleItem(key, originals)
            }
        }
    }

    /// The rendition at `key` if it is stale, with the reason; `nil` if it is current or not a rendition.
    private func staleItem(_ key: ObjectKey, _ originals: OriginalETags) async throws(StorageError) -> PurgeItem? {
        let parts = key.rawValue.split(separator: "/", maxSplits: 1)
        guard parts.count == 2, let originalKey = try? ObjectKey(String(parts[1])) else { return nil }
        guard let rendition = try await renditions.head(key) else { return nil }
        func item(_ reason: String) -> PurgeItem { PurgeItem(key: key, size: rendition.size, reason: reason) }
        let (name, modifiers) = RenditionForm.split(String(parts[0]))
        guard let preset = plans[name] else { return item("preset removed") }
        guard let form = try? preset.form(modifiers: modifiers), let plan = preset.plan(for: form) else {
            return item("variant removed")
        }
        if rendition.userMetadata[RenditionMetadataKey.fingerprint] != plan.fingerprint {
            return item("preset changed")
        }
        guard let etag = try await originals.etag(of: originalKey, in: source) else { return item("original deleted") }
        if rendition.userMetadata[RenditionMetadataKey.originalETag] != etag {
            return item("original replaced")
        }
        return nil
    }

    /// Runs `examine` on every key, at most ``concurrency`` at once, keeping the order of `keys`.
    private func decide(
        _ keys: [ObjectKey], _ examine: @escaping @Sendable (ObjectKey) async throws(StorageError) -> PurgeItem?
    ) async -> ([PurgeItem], [DeleteFailure]) {
        var results = [Result<PurgeItem?, StorageError>?](repeating: nil, count: keys.count)
        await withTaskGroup(of: (Int, Result<PurgeItem?, StorageError>).self) { group in
            var next = 0
            func add() {
                let index = next
                next += 1
                group.addTask {
                    // Await into a local, then build the tuple: Swift 6.3.1 with -O drops what a child task
                    // stores into its result before a throwing `await` inside `do` when `catch` stores it too,
                    // so `do { return (index, try await …) } catch { return (index, …) }` returned garbage for
                    // `index` (ReleaseCodegenTests keeps the reduced case).
                    let result: Result<PurgeItem?, StorageError>
                    do throws(StorageError) { result = .success(try await examine(keys[index])) } catch {
                        result = .failure(error)
                    }
                    return (index, result)
                }
            }
            while next < min(concurrency, keys.count) { add() }
            for await (index, result) in group {
                results[index] = result
                if next < keys.count { add() }
            }
        }
        var items: [PurgeItem] = []
        var failures: [DeleteFailure] = []
        for (key, result) in zip(keys, results) {
            switch result {
            case .success(let item?)?: items.append(item)
            case .failure(let error)?: failures.append(DeleteFailure(key: key, error: error))
            default: break
            }
        }
        return (items, failures)
    }
}

extension PurgeSelector {
    var isKey: Bool {
        if case .key = self { return true }
        return false
    }
}

/// Originals' ETags looked up during one stale purge: every preset's rendition of an original asks for the same
/// one, so each original is read once rather than once per preset. Bounded: when full it starts again empty.
final class OriginalETags: Sendable {
    static let capacity = 100_000
    /// `nil` for an original that is gone.
    private let known = Mutex<[ObjectKey: String?]>([:])

    func etag(of key: ObjectKey, in source: any ObjectStore) async throws(StorageError) -> String? {
        if let found = known.withLock({ $0[key] }) { return found }
        let etag = try await source.head(key)?.etag
        known.withLock { known in
            if known.count >= Self.capacity { known.removeAll(keepingCapacity: true) }
            known[key] = etag
        }
        return etag
    }
}
