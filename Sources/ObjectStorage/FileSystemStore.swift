internal import Crypto
public import Foundation
internal import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// Objects as files under a root folder; the default store, so one command gives a working service.
///
/// - Keys map to paths under the root and can never leave it: invalid keys are refused, and a path whose
///   folders resolve (through symbolic links) outside the root is refused too.
/// - Writes are atomic: the body is written to a temporary file in the same file system, flushed, and
///   renamed into place (or hard-linked, for create-only puts, which fails if the object exists).
/// - Content type, cache control, ETag and user metadata live in a JSON sidecar under
///   `<root>/.rendition/meta/`, written before the body is renamed; files put there by hand (originals)
///   get a content type from their first bytes and an ETag from their size and modification time.
/// - File work runs on NIO's blocking-I/O thread pool, never on Swift's cooperative pool.
public struct FileSystemStore: ObjectStore {
    public let root: URL
    private let internalFolder = ".rendition"

    /// A store rooted at `root`, created if missing.
    public init(root: URL) throws(StorageError) {
        self.root = root.standardizedFileURL
        do {
            for folder in ["tmp", "meta"] {
                try FileManager.default.createDirectory(
                    at: self.root.appendingPathComponent(internalFolder).appendingPathComponent(folder),
                    withIntermediateDirectories: true)
            }
        } catch {
            throw StorageError(.unavailable, "Cannot create the store folder \(root.path).", cause: Described(error))
        }
    }

    public var description: String { "fs:\(root.path)" }

    public func get(_ key: ObjectKey, maxBytes: Int) async throws(StorageError) -> StoredObject? {
        try await blocking { () throws(StorageError) in
            let path = try location(of: key)
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path.path),
                attributes[.type] as? FileAttributeType == .typeRegular
            else { return nil }
            let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
            guard size <= maxBytes else {
                throw StorageError(.tooLarge, "The object is \(size) bytes, over the limit of \(maxBytes).")
            }
            guard let data = FileManager.default.contents(atPath: path.path) else { return nil }
            let body = [UInt8](data)
            guard body.count <= maxBytes else {
                throw StorageError(.tooLarge, "The object is \(body.count) bytes, over the limit of \(maxBytes).")
            }
            return StoredObject(metadata: metadata(for: key, attributes: attributes, head: body.prefix(16)), body: body)
        }
    }

    public func head(_ key: ObjectKey) async throws(StorageError) -> ObjectMetadata? {
        try await blocking { () throws(StorageError) in
            let path = try location(of: key)
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path.path),
                attributes[.type] as? FileAttributeType == .typeRegular
            else { return nil }
            let head = FileHandle(forReadingAtPath: path.path).flatMap { try? $0.read(upToCount: 16) } ?? Data()
            return metadata(for: key, attributes: attributes, head: [UInt8](head)[...])
        }
    }

    @discardableResult
    public func put(_ key: ObjectKey, _ body: [UInt8], options: PutOptions) async throws(StorageError) -> ObjectMetadata
    {
        try await blocking { () throws(StorageError) in
            let path = try location(of: key)
            let etag = "\"" + SHA256.hash(data: body).prefix(16).map { String(format: "%02x", $0) }.joined() + "\""
            let sidecar = Sidecar(
                contentType: options.contentType, cacheControl: options.cacheControl, etag: etag,
                userMetadata: options.userMetadata)
            do {
                try FileManager.default.createDirectory(
                    at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
                try FileManager.default.createDirectory(
                    at: sidecarLocation(of: key).deletingLastPathComponent(), withIntermediateDirectories: true)
            } catch {
                throw StorageError(.unavailable, "Cannot create folders for \(key).", cause: Described(error))
            }
            // Checked again after creating folders: a symbolic link could have appeared on the way.
            _ = try location(of: key)
            if options.createOnly, FileManager.default.fileExists(atPath: path.path) {
                throw StorageError(.alreadyExists, "An object already exists at \(key).")
            }
            let sidecarBytes: [UInt8]
            do {
                sidecarBytes = [UInt8](try JSONEncoder().encode(sidecar))
            } catch {
                throw StorageError(.unavailable, "Cannot encode metadata.", cause: Described(error))
            }
            let temporarySidecar = try writeTemporary(sidecarBytes)
            try commit(temporarySidecar, to: sidecarLocation(of: key), exclusive: false)
            let temporaryBody = try writeTemporary(body)
            try commit(temporaryBody, to: path, exclusive: options.createOnly)
            return ObjectMetadata(
                contentType: options.contentType, cacheControl: options.cacheControl, etag: etag, lastModified: Date(),
                size: body.count, userMetadata: options.userMetadata)
        }
    }

    public func checkReachable() async throws(StorageError) {
        try await blocking { () throws(StorageError) in
            guard access(root.path, W_OK | R_OK | X_OK) == 0 else {
                throw StorageError(.unavailable, "The store folder \(root.path) is not readable and writable.")
            }
        }
    }

    /// Regular files under the root, the store's own folder and hidden files (`.DS_Store`) left out.
    /// Symbolic links are not followed, so a listing never leaves the root. Walks the whole tree to sort
    /// it: meant for browsing a folder of samples, not millions of objects.
    public func list(prefix: String, limit: Int) async throws(StorageError) -> [ObjectKey] {
        try await blocking { () throws(StorageError) in
            guard
                let walker = FileManager.default.enumerator(
                    at: root, includingPropertiesForKeys: [.isRegularFileKey, .isSymbolicLinkKey],
                    options: [.skipsHiddenFiles])
            else {
                throw StorageError(.unavailable, "Cannot list the store folder \(root.path).")
            }
            let rootPath = root.path.hasSuffix("/") ? root.path : root.path + "/"
            var keys: [ObjectKey] = []
            for case let url as URL in walker {
                let values = try? url.resourceValues(forKeys: [.isRegularFileKey, .isSymbolicLinkKey])
                if values?.isSymbolicLink == true {
                    walker.skipDescendants()
                    continue
                }
                guard values?.isRegularFile == true else { continue }
                let path = url.standardizedFileURL.path
                guard path.hasPrefix(rootPath) else { continue }
                let relative = String(path.dropFirst(rootPath.count))
                guard relative.hasPrefix(prefix), let key = try? ObjectKey(relative) else { continue }
                keys.append(key)
            }
            return [ObjectKey].listing(keys, prefix: prefix, limit: limit)
        }
    }

    // MARK: Paths

    /// The file for `key`, after checking that it stays inside the root even through symbolic links.
    func location(of key: ObjectKey) throws(StorageError) -> URL {
        if key.rawValue.contains("//") || key.rawValue.hasSuffix("/") {
            throw StorageError(
                .invalidKey, "The folder store cannot hold keys with empty path segments ('//' or a trailing '/').")
        }
        let first = key.rawValue.split(separator: "/").first.map(String.init) ?? ""
        guard first != internalFolder else {
            throw StorageError(.invalidKey, "Keys cannot start with \(internalFolder)/, which the store uses itself.")
        }
        let path = root.appendingPathComponent(key.rawValue)
        let realRoot = resolved(root.path)
        // The deepest existing ancestor (or the file itself) must resolve inside the root.
        var probe = path
        while !FileManager.default.fileExists(atPath: probe.path) && probe.path.count > root.path.count {
            probe.deleteLastPathComponent()
        }
        let real = resolved(probe.path)
        guard real == realRoot || real.hasPrefix(realRoot + "/") else {
            throw StorageError(.invalidKey, "The key leads outside the store through a symbolic link.")
        }
        return path
    }

    private func sidecarLocation(of key: ObjectKey) -> URL {
        root.appendingPathComponent(internalFolder).appendingPathComponent("meta").appendingPathComponent(
            key.rawValue + ".json")
    }

    private func resolved(_ path: String) -> String {
        guard let real = realpath(path, nil) else { return path }
        defer { free(real) }
        return String(cString: real)
    }

    // MARK: Files

    /// Writes `bytes` to a new file in the store's temporary folder and flushes it.
    private func writeTemporary(_ bytes: [UInt8]) throws(StorageError) -> URL {
        let url = root.appendingPathComponent(internalFolder).appendingPathComponent("tmp")
            .appendingPathComponent(UUID().uuidString)
        let descriptor = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw StorageError(.unavailable, "Cannot create a temporary file in \(root.path).", cause: Errno(errno))
        }
        defer { close(descriptor) }
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, bytes.count - written) }
            if result < 0 {
                if errno == EINTR { continue }
                let error = Errno(errno)
                unlink(url.path)
                throw StorageError(.unavailable, "Cannot write a temporary file in \(root.path).", cause: error)
            }
            written += result
        }
        guard fsync(descriptor) == 0 else {
            let error = Errno(errno)
            unlink(url.path)
            throw StorageError(.unavailable, "Cannot flush a temporary file in \(root.path).", cause: error)
        }
        return url
    }

    /// Moves a temporary file into place atomically; `exclusive` fails if the target exists.
    private func commit(_ temporary: URL, to target: URL, exclusive: Bool) throws(StorageError) {
        defer { unlink(temporary.path) }
        if exclusive {
            // link(2) is atomic and refuses an existing target: create-only without a race.
            guard link(temporary.path, target.path) == 0 else {
                if errno == EEXIST { throw StorageError(.alreadyExists, "An object already exists there.") }
                throw StorageError(.unavailable, "Cannot store the object.", cause: Errno(errno))
            }
        } else {
            guard rename(temporary.path, target.path) == 0 else {
                throw StorageError(.unavailable, "Cannot store the object.", cause: Errno(errno))
            }
        }
    }

    private func metadata(for key: ObjectKey, attributes: [FileAttributeKey: Any], head: ArraySlice<UInt8>)
        -> ObjectMetadata
    {
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        let modified = attributes[.modificationDate] as? Date ?? Date(timeIntervalSince1970: 0)
        if let data = FileManager.default.contents(atPath: sidecarLocation(of: key).path),
            let sidecar = try? JSONDecoder().decode(Sidecar.self, from: data)
        {
            return ObjectMetadata(
                contentType: sidecar.contentType, cacheControl: sidecar.cacheControl, etag: sidecar.etag,
                lastModified: modified, size: size, userMetadata: sidecar.userMetadata)
        }
        let etag = "\"\(String(Int(modified.timeIntervalSince1970 * 1000), radix: 16))-\(String(size, radix: 16))\""
        return ObjectMetadata(
            contentType: MediaType.guess(head), cacheControl: nil, etag: etag, lastModified: modified, size: size)
    }

    private struct Sidecar: Codable {
        var contentType: String
        var cacheControl: String?
        var etag: String
        var userMetadata: [String: String]
    }

    /// Runs file work on the blocking-I/O pool.
    private func blocking<T: Sendable>(_ body: @escaping @Sendable () throws(StorageError) -> T)
        async throws(StorageError) -> T
    {
        do {
            return try await NIOThreadPool.singleton.runIfActive { try body() }
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError(.unavailable, "The file store failed.", cause: Described(error))
        }
    }
}

/// A POSIX error number.
struct Errno: Error, Sendable, CustomStringConvertible {
    let code: Int32
    init(_ code: Int32) { self.code = code }
    var description: String { String(cString: strerror(code)) }
}

/// Any error, kept as its description so it can travel as a `Sendable` cause.
struct Described: Error, Sendable, CustomStringConvertible {
    let description: String
    init(_ error: any Error) { description = "\(error)" }
}

/// Content types from magic numbers, for files stored without metadata.
enum MediaType {
    static func guess(_ head: ArraySlice<UInt8>) -> String {
        let bytes = Array(head)
        func starts(_ prefix: [UInt8], at offset: Int = 0) -> Bool {
            bytes.count >= offset + prefix.count && Array(bytes[offset..<offset + prefix.count]) == prefix
        }
        if starts([0xFF, 0xD8, 0xFF]) { return "image/jpeg" }
        if starts([0x89, 0x50, 0x4E, 0x47]) { return "image/png" }
        if starts(Array("GIF8".utf8)) { return "image/gif" }
        if starts(Array("RIFF".utf8)) && starts(Array("WEBP".utf8), at: 8) { return "image/webp" }
        if starts(Array("ftypavif".utf8), at: 4) { return "image/avif" }
        if starts(Array("ftyp".utf8), at: 4) { return "image/heif" }
        if starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A]) { return "image/tiff" }
        return "application/octet-stream"
    }
}
