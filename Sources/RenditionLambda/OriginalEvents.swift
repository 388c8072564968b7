public import Foundation
public import Logging
public import ObjectStorage
public import RenditionService
public import S3Storage

/// Originals replaced or deleted in the serverless flow: S3 notifies the function, which purges every
/// preset's rendition of that original (and invalidates them in CloudFront when configured), so the next
/// request renders the new photo, or finds nothing.
public struct OriginalEvents: Sendable {
    /// The originals bucket and the source store's prefix in it: events for other buckets or keys outside
    /// the prefix are ignored.
    public let bucket: String
    public let prefix: String
    public let purger: Purger
    public let invalidator: CloudFrontInvalidator?

    public init(bucket: String, prefix: String, purger: Purger, invalidator: CloudFrontInvalidator?) {
        self.bucket = bucket
        self.prefix = prefix
        self.purger = purger
        self.invalidator = invalidator
    }

    /// What one event did.
    public struct Outcome: Sendable {
        public var purged: [PurgeItem] = []
        public var failures: [DeleteFailure] = []
        public var ignored = 0
        public var invalidation: String?
        /// Why the CloudFront invalidation failed, if it did (the renditions are deleted all the same).
        public var invalidationError: StorageError?

        /// Whether everything the event asked for was done.
        public var succeeded: Bool { failures.isEmpty && invalidationError == nil }

        /// Every failure, one line each, for the invocation error.
        public var failureMessage: String {
            (failures.map { "\($0.key): \($0.error.code.rawValue): \($0.error.message)" }
                + (invalidationError.map { ["CloudFront: \($0.code.rawValue): \($0.message)"] } ?? []))
                .joined(separator: "; ")
        }

        /// The invocation's answer: `{"purged": [public paths], "ignored": n, "invalidation": id}`.
        public var document: [UInt8] {
            var object: [String: Any] = ["purged": purged.map(\.publicPath), "ignored": ignored]
            if let invalidation { object["invalidation"] = invalidation }
            return [UInt8]((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data())
        }
    }

    /// Checks every record's key before deleting anything (a key that cannot name an original makes the
    /// whole event invalid), then purges each original's renditions.
    public func handle(_ event: S3Event, logger: Logger) async throws(HTTPEvent.Malformed) -> Outcome {
        var outcome = Outcome()
        var originals: [ObjectKey] = []
        let base = prefix.isEmpty ? "" : prefix + "/"
        for record in event.records {
            guard record.bucket == bucket else {
                logger.warning("ignored an S3 event for another bucket", metadata: ["bucket": "\(record.bucket)"])
                outcome.ignored += 1
                continue
            }
            guard record.eventName.hasPrefix("ObjectCreated:") || record.eventName.hasPrefix("ObjectRemoved:") else {
                logger.warning("ignored an S3 event", metadata: ["event": "\(record.eventName)"])
                outcome.ignored += 1
                continue
            }
            guard record.key.hasPrefix(base) else {
                logger.warning("ignored an S3 event outside the originals' prefix", metadata: ["key": "\(record.key)"])
                outcome.ignored += 1
                continue
            }
            do {
                originals.append(try ObjectKey(String(record.key.dropFirst(base.count))))
            } catch {
                throw HTTPEvent.Malformed(description: "the S3 event's key cannot name an original: \(error.message)")
            }
        }
        for original in originals {
            let report = await purger.run(.key(original), dryRun: false)
            outcome.purged += report.purged
            outcome.failures += report.failures
            if let error = report.listingError {
                outcome.failures.append(DeleteFailure(key: original, error: error))
            }
        }
        if let invalidator, !outcome.purged.isEmpty {
            do {
                outcome.invalidation = try await invalidator.invalidate(
                    CloudFrontInvalidator.paths(for: outcome.purged.map(\.publicPath)))
            } catch {
                logger.error("CloudFront invalidation failed", metadata: ["error": "\(error.message)"])
                outcome.invalidationError = error
            }
        }
        return outcome
    }
}
