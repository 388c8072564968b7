internal import Crypto
public import Failures
public import Foundation
internal import NIOPosix
internal import Synchronization

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
///   `<root>/.rendition/meta/`, written before the body is renamed and naming the body file's size and
///   modification time, so a reader between the two renames of a replacing put never pairs the old body with
///   the new metadata (a copy that keeps times, `cp -a` or `rsync -a`, keeps the pairs);
///   files put there by hand (originals) get a content type from their first bytes and an ETag from their
///   size and modification time.
/// - File work runs on NIO's blocking-I/O thread pool, never on Swift's cooperative pool.
public struct FileSystemStore: ObjectStore {
    public let root: URL
    private let internalFolder = ".rendition"
    /// The root with symbolic links resolved, once: every path read or written must resolve under it.
    private let realRoot: String
    /// `root.path` without a trailing slash, for building paths without `URL`.
    private let rootPath: String
    private let metadataCache = MetadataCache()

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
            throw StorageError(
                .unavailable, "Cannot create the store folder \(root.path).", cause: DescribedError(error))
        }
        realRoot = Self.resolved(self.root.path)
        rootPath = self.root.path.hasSuffix("/") ? String(self.root.path.dropLast()) : self.root.path
    }

    public var description: String { "fs:\(root.path)" }

    public func get(_ key: ObjectKey, maxBytes: Int) async throws(StorageError) -> StoredObject? {
        try await blocking { () throws(StorageError) in
            guard let file = try openChecked(key) else { return nil }
            defer { close(file.descriptor) }
            guard file.size <= maxBytes else {
                throw StorageError(.tooLarge, "The object is \(file.size) bytes, over the limit of \(maxBytes).")
            }
            let body = try readAll(file)
            return StoredObject(metadata: metadata(for: key, file: file, head: body.prefix(16)), body: body)
        }
    }

    public func head(_ key: ObjectKey) async throws(StorageError) -> ObjectMetadata? {
        try await blocking { () throws(StorageError) in
            guard let file = try openChecked(key) else { return nil }
            defer { close(file.descriptor) }
            return metadata(for: key, file: file, head: nil)
        }
    }

    @discardableResult
    public func put(_ key: ObjectKey, _ body: [UInt8], options: PutOptions) async throws(StorageError) -> ObjectMetadata
    {
        try await blocking { () throws(StorageError) in
            let path = try location(of: key)
            let etag = "\"" + SHA256.hash(data: body).prefix(16).map { String(format: "%02x", $0) }.joined() + "\""
            do {
                try FileManager.default.createDirectory(
                    at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
                try FileManager.default.createDirectory(
                    at: sidecarLocation(of: key).deletingLastPathComponent(), withIntermediateDirectories: true)
            } catch {
                throw StorageError(.unavailable, "Cannot create folders for \(key).", cause: DescribedError(error))
            }
            // Checked again after creating folders: a symbolic link could have appeared on the way.
            _ = try location(of: key)
            if options.createOnly, FileManager.default.fileExists(atPath: path.path) {
                throw StorageError(.alreadyExists, "An object already exists at \(key).")
            }
            // The body's file keeps its modification time through the rename (or link) into place.
            let (temporaryBody, written) = try writeTemporary(body)
            let sidecar = Sidecar(
                contentType: options.contentType, cacheControl: options.cacheControl, etag: etag,
                userMetadata: options.userMetadata, body: written)
            let sidecarBytes: [UInt8]
            do {
                sidecarBytes = [UInt8](try JSONEncoder().encode(sidecar))
            } catch {
                unlink(temporaryBody.path)
                throw StorageError(.unavailable, "Cannot encode metadata.", cause: DescribedError(error))
            }
            do throws(StorageError) {
                let (temporarySidecar, _) = try writeTemporary(sidecarBytes)
                try commit(temporarySidecar, to: sidecarLocation(of: key), exclusive: false)
            } catch {
                unlink(temporaryBody.path)
                throw error
            }
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
    /// Symbolic links are not followed, so a listing never leaves the root. Walks the folder the prefix
    /// names (all of it, to sort it) for each page: fine for a purge of thousands of renditions or browsing
    /// samples; a store of millions of objects belongs in S3.
    public func listPage(prefix: String, delimiter: String?, continuation: String?, limit: Int)
        async throws(StorageError) -> ListPage
    {
        try await blocking { () throws(StorageError) in
            // Only the folder the prefix is inside can hold matching files.
            let folder = prefix.lastIndex(of: "/").map { String(prefix[...$0]) } ?? ""
            let start = folder.isEmpty ? root : root.appendingPathComponent(folder)
            if folder.split(separator: "/").first == Substring(internalFolder)
                || !FileManager.default.fileExists(atPath: start.path)
            {
                return ListPage(objects: [])
            }
            guard
                let walker = FileManager.default.enumerator(
                    at: start, includingPropertiesForKeys: [.isRegularFileKey, .isSymbolicLinkKey, .fileSizeKey],
                    options: [.skipsHiddenFiles])
            else {
                throw StorageError(.unavailable, "Cannot list the store folder \(root.path).")
            }
            let rootPath = root.path.hasSuffix("/") ? root.path : root.path + "/"
            var objects: [ListedObject] = []
            for case let url as URL in walker {
                let values = try? url.resourceValues(forKeys: [.isRegularFileKey, .isSymbolicLinkKey, .fileSizeKey])
                if values?.isSymbolicLink == true {
                    walker.skipDescendants()
                    continue
                }
                guard values?.isRegularFile == true else { continue }
                let path = url.standardizedFileURL.path
                guard path.hasPrefix(rootPath) else { continue }
                let relative = String(path.dropFirst(rootPath.count))
                guard relative.hasPrefix(prefix), let key = try? ObjectKey(relative) else { continue }
                objects.append(ListedObject(key: key, size: values?.fileSize ?? 0))
            }
            return ListPage.of(objects, prefix: prefix, delimiter: delimiter, continuation: continuation, limit: limit)
        }
    }

    /// Removes each key's file and then its sidecar. Folders are left in place, even when empty: a render
    /// storing into the same folder at that moment must not lose it.
    public func delete(_ keys: [ObjectKey]) async throws(StorageError) -> [DeleteFailure] {
        try await blocking { () throws(StorageError) in
            var failures: [DeleteFailure] = []
            for key in keys {
                do throws(StorageError) {
                    if unlink(try location(of: key).path) != 0, errno != ENOENT {
                        throw StorageError(.unavailable, "Cannot delete \(key).", cause: Errno(errno))
                    }
                    if unlink(sidecarLocation(of: key).path) != 0, errno != ENOENT {
                        throw StorageError(.unavailable, "Cannot delete the metadata of \(key).", cause: Errno(errno))
                    }
                } catch {
                    failures.append(DeleteFailure(key: key, error: error))
                }
            }
            return failures
        }
    }

    // MARK: Paths

    /// The file for `key`, after checking that it stays inside the root even through symbolic links.
    func location(of key: ObjectKey) throws(StorageError) -> URL {
        let path = URL(fileURLWithPath: try spelledPath(of: key))
        // The deepest existing ancestor (or the file itself) must resolve inside the root.
        var probe = path
        while !FileManager.default.fileExists(atPath: probe.path) && probe.path.count > root.path.count {
            probe.deleteLastPathComponent()
        }
        guard isInsideRoot(Self.resolved(probe.path)) else {
            throw StorageError(.invalidKey, "The key leads outside the store through a symbolic link.")
        }
        return path
    }

    /// The file for `key` by its spelling alone: refuses keys the folder store cannot hold. Plain string
    /// work on purpose: it runs on every origin hit, where `URL` building and Foundation's bridged string
    /// search showed as a tenth of the server's time.
    private func spelledPath(of key: ObjectKey) throws(StorageError) -> String {
        let raw = key.rawValue.utf8
        var previousWasSlash = false
        for byte in raw {
            if byte == UInt8(ascii: "/") && previousWasSlash { return try Self.refuseEmptySegments() }
            previousWasSlash = byte == UInt8(ascii: "/")
        }
        if previousWasSlash { return try Self.refuseEmptySegments() }
        let first = raw.split(separator: UInt8(ascii: "/"), maxSplits: 1).first
        if let first, first.elementsEqual(internalFolder.utf8) {
            throw StorageError(.invalidKey, "Keys cannot start with \(internalFolder)/, which the store uses itself.")
        }
        return rootPath + "/" + key.rawValue
    }

    private static func refuseEmptySegments() throws(StorageError) -> String {
        throw StorageError(
            .invalidKey, "The folder store cannot hold keys with empty path segments ('//' or a trailing '/').")
    }

    private func sidecarLocation(of key: ObjectKey) -> URL {
        root.appendingPathComponent(internalFolder).appendingPathComponent("meta").appendingPathComponent(
            key.rawValue + ".json")
    }

    private func isInsideRoot(_ real: String) -> Bool {
        real == realRoot || real.hasPrefix(realRoot + "/")
    }

    private static func resolved(_ path: String) -> String {
        guard let real = realpath(path, nil) else { return path }
        defer { free(real) }
        return String(cString: real)
    }

    /// The object's file, opened for reading, or `nil` if there is none (or it is not a regular file).
    ///
    /// The check that it lies under the root is made on the opened file itself (its path as the kernel
    /// resolved it), so a symbolic link swapped in between the check and the read cannot lead outside.
    private func openChecked(_ key: ObjectKey) throws(StorageError) -> OpenFile? {
        let path = try spelledPath(of: key)
        // Non-blocking, so a FIFO planted in the folder cannot hang a reader; regular files ignore it.
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else {
            let code = errno
            guard code == ENOENT || code == ENOTDIR else {
                throw StorageError(.unavailable, "Cannot open the object \(key).", cause: Errno(code))
            }
            // A miss: still refuse a key whose folders lead outside the root, so misses and escapes differ.
            _ = try location(of: key)
            return nil
        }
        var status = stat()
        guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
            close(descriptor)
            return nil
        }
        guard isInsideRoot(Self.resolved(descriptor: descriptor) ?? Self.resolved(path)) else {
            close(descriptor)
            throw StorageError(.invalidKey, "The key leads outside the store through a symbolic link.")
        }
        return OpenFile(
            descriptor: descriptor,
            identity: FileIdentity(
                device: UInt64(status.st_dev), inode: UInt64(status.st_ino), size: Int64(status.st_size),
                modifiedSeconds: Int64(status.st_mtim.tv_sec), modifiedNanoseconds: Int64(status.st_mtim.tv_nsec)))
    }

    /// The path of an open file as the kernel resolved it, or `nil` where `/proc` is not mounted.
    private static func resolved(descriptor: Int32) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/fd/\(descriptor)", &buffer, Int(PATH_MAX))
        guard count > 0 else { return nil }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The whole file: its size was taken when it was opened, and the object cannot change under the
    /// descriptor (puts replace the file, never write into it).
    private func readAll(_ file: OpenFile) throws(StorageError) -> [UInt8] {
        var failure: Int32 = 0
        let body = [UInt8](unsafeUninitializedCapacity: file.size) { buffer, count in
            count = 0
            while count < file.size {
                let result = pread(file.descriptor, buffer.baseAddress! + count, file.size - count, off_t(count))
                if result < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                if result == 0 { return }
                count += result
            }
        }
        guard failure == 0 else { throw StorageError(.unavailable, "Cannot read the object.", cause: Errno(failure)) }
        guard body.count == file.size else {
            throw StorageError(.unavailable, "The object was cut short while it was read; try again.")
        }
        return body
    }

    private func readHead(_ file: OpenFile) -> ArraySlice<UInt8> {
        var bytes = [UInt8](repeating: 0, count: 16)
        let count = bytes.withUnsafeMutableBytes { pread(file.descriptor, $0.baseAddress!, 16, 0) }
        return bytes.prefix(max(0, count))
    }

    // MARK: Files

    /// Writes `bytes` to a new file in the store's temporary folder and flushes it; returns it and what
    /// tells this file's version from another.
    private func writeTemporary(_ bytes: [UInt8]) throws(StorageError) -> (URL, Sidecar.Version) {
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
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            let error = Errno(errno)
            unlink(url.path)
            throw StorageError(.unavailable, "Cannot read back a temporary file in \(root.path).", cause: error)
        }
        return (
            url,
            Sidecar.Version(
                size: Int64(status.st_size), modifiedSeconds: Int64(status.st_mtim.tv_sec),
                modifiedNanoseconds: Int64(status.st_mtim.tv_nsec))
        )
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

    /// The metadata of an open object: the sidecar's, cached per key while the file stays the same
    /// (a put renames a new file into place, so a changed object has a new inode), or, for files put by
    /// hand, a type guessed from the first bytes and an ETag from size and modification time.
    /// `head` is the body's first bytes when the caller has read them.
    private func metadata(for key: ObjectKey, file: OpenFile, head: ArraySlice<UInt8>?) -> ObjectMetadata {
        if let cached = metadataCache.metadata(for: key.rawValue, file: file.identity) { return cached }
        let modified = Date(
            timeIntervalSince1970: Double(file.identity.modifiedSeconds) + Double(file.identity.modifiedNanoseconds)
                / 1e9)
        let metadata: ObjectMetadata
        // A sidecar naming another version of the body (a replacing put between its two renames) is not
        // this file's: the object is then read as one put by hand, never with another body's metadata.
        if let data = FileManager.default.contents(atPath: sidecarLocation(of: key).path),
            let sidecar = try? JSONDecoder().decode(Sidecar.self, from: data),
            sidecar.body == nil || sidecar.body == Sidecar.Version(file.identity)
        {
            metadata = ObjectMetadata(
                contentType: sidecar.contentType, cacheControl: sidecar.cacheControl, etag: sidecar.etag,
                lastModified: modified, size: file.size, userMetadata: sidecar.userMetadata)
        } else {
            let bytes = head ?? readHead(file)
            let etag =
                "\"\(String(Int(modified.timeIntervalSince1970 * 1000), radix: 16))-\(String(file.size, radix: 16))\""
            metadata = ObjectMetadata(
                contentType: MediaType.guess(bytes), cacheControl: nil, etag: etag, lastModified: modified,
                size: file.size)
        }
        metadataCache.insert(metadata, for: key.rawValue, file: file.identity)
        return metadata
    }

    fileprivate struct Sidecar: Codable {
        var contentType: String
        var cacheControl: String?
        var etag: String
        var userMetadata: [String: String]
        /// The body file's size and modification time; absent in sidecars written before they were recorded.
        var body: Version?

        struct Version: Codable, Hashable {
            var size: Int64
            var modifiedSeconds: Int64
            var modifiedNanoseconds: Int64
        }
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
            throw StorageError(.unavailable, "The file store failed.", cause: DescribedError(error))
        }
    }
}

extension FileSystemStore.Sidecar.Version {
    fileprivate init(_ file: FileIdentity) {
        self.init(size: file.size, modifiedSeconds: file.modifiedSeconds, modifiedNanoseconds: file.modifiedNanoseconds)
    }
}

/// An open object file and what `fstat` said about it.
private struct OpenFile {
    let descriptor: Int32
    let identity: FileIdentity
    var size: Int { Int(identity.size) }
}

/// What tells one version of a file from another: a put renames a new file into place.
private struct FileIdentity: Hashable, Sendable {
    let device: UInt64
    let inode: UInt64
    let size: Int64
    let modifiedSeconds: Int64
    let modifiedNanoseconds: Int64
}

/// Metadata read from sidecars, per key, valid while the key's file is the same file. Bounded: when it
/// is full it starts again empty, which costs one sidecar read per key and never a wrong answer.
private final class MetadataCache: Sendable {
    static let capacity = 8192
    private let entries = Mutex<[String: (file: FileIdentity, metadata: ObjectMetadata)]>([:])

    func metadata(for key: String, file: FileIdentity) -> ObjectMetadata? {
        entries.withLock { entries in
            guard let entry = entries[key], entry.file == file else { return nil }
            return entry.metadata
        }
    }

    func insert(_ metadata: ObjectMetadata, for key: String, file: FileIdentity) {
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = (file, metadata)
        }
    }
}

/// A POSIX error number.
struct Errno: Error, Sendable, CustomStringConvertible {
    let code: Int32
    init(_ code: Int32) { self.code = code }
    var description: String { String(cString: strerror(code)) }
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
