public import Failures
public import Foundation

/// The key of an object in a store: a relative, `/`-separated path of at most 1024 UTF-8 bytes.
///
/// A key never has a leading `/`, `.` or `..` segments, backslashes, NUL or other control characters.
/// Keys come from URLs, so every way of smuggling a path out of a store is refused here once, for every
/// store. Empty segments (`a//b`) are valid S3 keys; the folder store refuses them itself.
public struct ObjectKey: Sendable, Hashable, CustomStringConvertible {
    public static let maxLength = 1024
    public let rawValue: String

    public init(_ rawValue: String) throws(StorageError) {
        if let problem = Self.problem(with: rawValue) {
            throw StorageError(.invalidKey, problem)
        }
        self.rawValue = rawValue
    }

    /// Why `text` is not a valid key, or `nil`.
    public static func problem(with text: String) -> String? {
        if text.isEmpty { return "The key is empty; name an object." }
        if text.utf8.count > maxLength { return "The key is longer than \(maxLength) bytes; use a shorter name." }
        if text.hasPrefix("/") { return "The key is absolute; keys are relative paths." }
        if text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            return "The key contains control characters (such as NUL); remove them."
        }
        if text.utf8.contains(UInt8(ascii: "\\")) { return "The key contains a backslash; use '/' between folders." }
        for segment in text.split(separator: "/", omittingEmptySubsequences: false) {
            if segment == "." || segment == ".." {
                return "The key has a '.' or '..' segment; keys cannot leave their folder."
            }
        }
        return nil
    }

    /// The key under `prefix` (a folder in the same store).
    public func prefixed(by prefix: String) throws(StorageError) -> ObjectKey {
        try ObjectKey(prefix.isEmpty ? rawValue : "\(prefix)/\(rawValue)")
    }

    public var description: String { rawValue }
}

/// What a store knows about an object.
public struct ObjectMetadata: Sendable, Hashable {
    public var contentType: String
    public var cacheControl: String?
    /// A strong validator, quoted as in HTTP (`"…"`).
    public var etag: String
    public var lastModified: Date
    public var size: Int
    /// User metadata (`x-amz-meta-*` in S3).
    public var userMetadata: [String: String]

    public init(
        contentType: String, cacheControl: String?, etag: String, lastModified: Date, size: Int,
        userMetadata: [String: String] = [:]
    ) {
        self.contentType = contentType
        self.cacheControl = cacheControl
        self.etag = etag
        self.lastModified = lastModified
        self.size = size
        self.userMetadata = userMetadata
    }
}

/// An object read whole.
public struct StoredObject: Sendable {
    public var metadata: ObjectMetadata
    public var body: [UInt8]

    public init(metadata: ObjectMetadata, body: [UInt8]) {
        self.metadata = metadata
        self.body = body
    }
}

/// How to store an object.
public struct PutOptions: Sendable, Hashable {
    public var contentType: String
    public var cacheControl: String?
    public var userMetadata: [String: String]
    /// Store only if no object has the key (S3 `If-None-Match: *`); otherwise ``StorageError/Code/alreadyExists``.
    public var createOnly: Bool

    public init(
        contentType: String, cacheControl: String? = nil, userMetadata: [String: String] = [:], createOnly: Bool = false
    ) {
        self.contentType = contentType
        self.cacheControl = cacheControl
        self.userMetadata = userMetadata
        self.createOnly = createOnly
    }
}

/// A place that keeps objects by key: a folder, an S3 bucket, memory in tests.
///
/// Writes are atomic: a reader sees the whole new object or none of it, never a part.
public protocol ObjectStore: Sendable, CustomStringConvertible {
    /// The object, or `nil` if there is none. Throws ``StorageError/Code/tooLarge`` past `maxBytes`
    /// without reading the body.
    func get(_ key: ObjectKey, maxBytes: Int) async throws(StorageError) -> StoredObject?
    /// The object's metadata, or `nil` if there is none.
    func head(_ key: ObjectKey) async throws(StorageError) -> ObjectMetadata?
    /// Stores `body` under `key`, atomically.
    @discardableResult
    func put(_ key: ObjectKey, _ body: [UInt8], options: PutOptions) async throws(StorageError) -> ObjectMetadata
    /// Throws when the store cannot be used (for readiness checks).
    func checkReachable() async throws(StorageError)
    /// One page of the keys that start with `prefix`, in ascending byte order of their UTF-8 spelling
    /// (S3's order), at most `limit` entries (objects and folders together). With a `delimiter`, keys with
    /// the delimiter after the prefix are rolled up into one folder each (S3's common prefixes). Pass the
    /// page's ``ListPage/continuation`` to get the next one. Stores that cannot list throw
    /// ``StorageError/Code/unsupported``.
    func listPage(prefix: String, delimiter: String?, continuation: String?, limit: Int) async throws(StorageError)
        -> ListPage
    /// Deletes `keys` (deleting a missing key succeeds, as in S3) and answers the keys that could not be
    /// deleted, each with its error; every key not in the answer is gone. Throws when the store could not
    /// be asked at all (then nothing is known to be deleted).
    func delete(_ keys: [ObjectKey]) async throws(StorageError) -> [DeleteFailure]
}

extension ObjectStore {
    /// Stores without a listing answer that they cannot list, so a caller can say so instead of failing.
    public func listPage(prefix: String, delimiter: String?, continuation: String?, limit: Int)
        async throws(StorageError) -> ListPage
    {
        throw StorageError(.unsupported, "The store \(self) cannot list its objects.")
    }

    public func delete(_ keys: [ObjectKey]) async throws(StorageError) -> [DeleteFailure] {
        throw StorageError(.unsupported, "The store \(self) cannot delete objects.")
    }

    /// The first `limit` keys that start with `prefix`, in S3's order: for browsing (the preset studio).
    public func list(prefix: String, limit: Int) async throws(StorageError) -> [ObjectKey] {
        var keys: [ObjectKey] = []
        var continuation: String?
        repeat {
            let page = try await listPage(
                prefix: prefix, delimiter: nil, continuation: continuation, limit: min(1000, limit - keys.count))
            keys += page.objects.map(\.key)
            continuation = page.continuation
        } while continuation != nil && keys.count < limit
        return keys
    }
}

/// An object in a listing.
public struct ListedObject: Sendable, Hashable {
    public var key: ObjectKey
    public var size: Int

    public init(key: ObjectKey, size: Int) {
        self.key = key
        self.size = size
    }
}

/// One page of a listing (see ``ObjectStore/listPage(prefix:delimiter:continuation:limit:)``).
public struct ListPage: Sendable, Hashable {
    public var objects: [ListedObject]
    /// With a delimiter: each distinct key beginning up to and including the first delimiter after the prefix.
    public var folders: [String]
    /// Where the next page starts, or `nil` after the last page.
    public var continuation: String?

    public init(objects: [ListedObject], folders: [String] = [], continuation: String? = nil) {
        self.objects = objects
        self.folders = folders
        self.continuation = continuation
    }

    /// The page of `objects` (in any order) that S3 would answer, for stores that list in memory. The
    /// continuation is the page's last entry, and the next page starts after it.
    public static func of(
        _ objects: some Sequence<ListedObject>, prefix: String, delimiter: String?, continuation: String?, limit: Int
    ) -> ListPage {
        var entries: [(name: String, object: ListedObject?)] = []
        var seenFolders = Set<String>()
        for object in objects where object.key.rawValue.hasPrefix(prefix) {
            let rest = object.key.rawValue.dropFirst(prefix.count)
            if let delimiter, !delimiter.isEmpty, let end = rest.range(of: delimiter) {
                let folder = prefix + rest[..<end.upperBound]
                if seenFolders.insert(folder).inserted { entries.append((folder, nil)) }
            } else {
                entries.append((object.key.rawValue, object))
            }
        }
        entries.sort { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
        if let continuation {
            entries.removeAll { !continuation.utf8.lexicographicallyPrecedes($0.name.utf8) }
        }
        let page = entries.prefix(Swift.max(0, limit))
        return ListPage(
            objects: page.compactMap(\.object), folders: page.filter { $0.object == nil }.map(\.name),
            continuation: page.count < entries.count ? page.last?.name : nil)
    }
}

/// A key a delete could not remove, and why.
public struct DeleteFailure: Sendable {
    public var key: ObjectKey
    public var error: StorageError

    public init(key: ObjectKey, error: StorageError) {
        self.key = key
        self.error = error
    }
}

/// A storage failure, with a code, a public message and the cause (see ``CodedError``).
public typealias StorageError = CodedError<StorageErrorCode>

/// The codes of ``StorageError``.
public struct StorageErrorCode: ErrorCode {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }

    /// The key cannot name an object.
    public static let invalidKey = Self("invalid_key")
    /// The object is bigger than the caller accepts.
    public static let tooLarge = Self("too_large")
    /// A create-only put found an object already there.
    public static let alreadyExists = Self("already_exists")
    /// The store refused the credentials or the operation.
    public static let accessDenied = Self("access_denied")
    /// The store is down, overloaded or unreachable.
    public static let unavailable = Self("unavailable")
    /// The store did not answer in time.
    public static let timeout = Self("timeout")
    /// The store cannot do this operation (such as listing).
    public static let unsupported = Self("unsupported")
}
