public import Foundation
import Synchronization

/// Objects in memory: a double for unit tests of code that takes an ``ObjectStore``. Never the only test
/// of an integration; the file system and S3 stores have their own.
public final class MemoryStore: ObjectStore {
    private let objects = Mutex<[ObjectKey: StoredObject]>([:])
    private let counter = Mutex(0)
    private let reads = Mutex(0)

    public init() {}

    public var description: String { "memory" }

    /// How many puts succeeded.
    public var putCount: Int { counter.withLock { $0 } }

    /// How many gets and heads were asked.
    public var readCount: Int { reads.withLock { $0 } }

    public func get(_ key: ObjectKey, maxBytes: Int) async throws(StorageError) -> StoredObject? {
        reads.withLock { $0 += 1 }
        guard let object = objects.withLock({ $0[key] }) else { return nil }
        guard object.body.count <= maxBytes else {
            throw StorageError(.tooLarge, "The object is \(object.body.count) bytes, over the limit of \(maxBytes).")
        }
        return object
    }

    public func head(_ key: ObjectKey) async throws(StorageError) -> ObjectMetadata? {
        reads.withLock { $0 += 1 }
        return objects.withLock { $0[key]?.metadata }
    }

    @discardableResult
    public func put(_ key: ObjectKey, _ body: [UInt8], options: PutOptions) async throws(StorageError) -> ObjectMetadata
    {
        let metadata = ObjectMetadata(
            contentType: options.contentType, cacheControl: options.cacheControl,
            etag: "\"\(body.count)-\(body.hashValue)\"",
            lastModified: Date(), size: body.count, userMetadata: options.userMetadata)
        try objects.withLock { (objects) throws(StorageError) in
            if options.createOnly, objects[key] != nil {
                throw StorageError(.alreadyExists, "An object already exists at \(key).")
            }
            objects[key] = StoredObject(metadata: metadata, body: body)
        }
        counter.withLock { $0 += 1 }
        return metadata
    }

    public func checkReachable() async throws(StorageError) {}

    public func listPage(prefix: String, delimiter: String?, continuation: String?, limit: Int)
        async throws(StorageError) -> ListPage
    {
        let objects = objects.withLock { $0.map { ListedObject(key: $0.key, size: $0.value.body.count) } }
        return ListPage.of(objects, prefix: prefix, delimiter: delimiter, continuation: continuation, limit: limit)
    }

    public func delete(_ keys: [ObjectKey]) async throws(StorageError) -> [DeleteFailure] {
        objects.withLock { objects in
            for key in keys { objects.removeValue(forKey: key) }
        }
        return []
    }
}
