public import AsyncHTTPClient
internal import Crypto
public import Failures
public import Foundation
internal import Logging
internal import NIOCore
internal import NIOHTTP1
public import ObjectStorage

/// Where and how to reach one bucket.
public struct S3Location: Sendable, Hashable {
    public enum Addressing: String, Sendable, CaseIterable {
        /// `https://endpoint/bucket/key`: MinIO, moto, Ceph, and buckets whose names contain dots.
        case path
        /// `https://bucket.endpoint/key`: AWS's default.
        case virtual
    }

    public var bucket: String
    /// A folder inside the bucket (no leading or trailing `/`), or empty.
    public var prefix: String
    public var region: String
    /// `scheme://host[:port]`, or `nil` for AWS (`https://s3.<region>.amazonaws.com`).
    public var endpoint: String?
    public var addressing: Addressing

    public init(
        bucket: String, prefix: String = "", region: String = "us-east-1", endpoint: String? = nil,
        addressing: Addressing = .virtual
    ) {
        self.bucket = bucket
        self.prefix = prefix.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        self.region = region
        self.endpoint = endpoint
        self.addressing = addressing
    }

    var baseEndpoint: String { endpoint ?? "https://s3.\(region).amazonaws.com" }

    /// The object path of `key` in the bucket: the key under the prefix.
    public func objectPath(_ key: ObjectKey) -> String {
        prefix.isEmpty ? key.rawValue : "\(prefix)/\(key.rawValue)"
    }

    /// The URL of `objectPath` (an already-prefixed key, or empty for the bucket), its host, its path on
    /// the wire (every key segment percent-encoded once, RFC 3986 unreserved kept, `/` kept) and the same
    /// path decoded, which is what the signer takes: it encodes once itself, and S3 checks the signature
    /// against the wire path. Signing the wire path would encode it twice, which only keys without a
    /// character to encode survive.
    public func url(for objectPath: String) -> (url: String, host: String, path: String, signingPath: String) {
        let encodedKey = objectPath.split(separator: "/", omittingEmptySubsequences: false).map {
            SigV4Signer.encode(String($0))
        }.joined(separator: "/")
        let parts = baseEndpoint.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
        let scheme = parts.first.map(String.init) ?? "https:"
        let host = parts.count > 2 ? String(parts[2]) : ""
        switch addressing {
        case .path:
            let path = "/\(bucket)" + (objectPath.isEmpty ? "" : "/\(encodedKey)")
            let signingPath = "/\(bucket)" + (objectPath.isEmpty ? "" : "/\(objectPath)")
            return ("\(scheme)//\(host)\(path)", host, path, signingPath)
        case .virtual:
            let path = "/" + encodedKey
            return ("\(scheme)//\(bucket).\(host)\(path)", "\(bucket).\(host)", path, "/" + objectPath)
        }
    }
}

/// Retry and timeout policy for S3 calls.
public struct S3RetryPolicy: Sendable {
    /// Attempts for idempotent requests (1 = no retry).
    public var attempts = 3
    /// First backoff; each retry doubles it, with full jitter.
    public var baseDelay: Duration = .milliseconds(100)
    public var maxDelay: Duration = .seconds(2)
    /// Time to connect.
    public var connectTimeout: Duration = .seconds(2)
    /// Time for one whole request.
    public var requestTimeout: Duration = .seconds(20)

    public init() {}
}

/// An ``ObjectStore`` on an S3 bucket (AWS S3, MinIO, R2, Ceph, moto), signed with our own SigV4.
public final class S3Store: ObjectStore {
    public let location: S3Location
    let client: HTTPClient
    let credentials: AWSCredentials
    let policy: S3RetryPolicy
    let now: @Sendable () -> Date

    /// An HTTP client set up for S3 stores: connect timeout from `policy`, and no silent reconnect loop
    /// (a refused connection fails at once, and ``S3Store``'s own retries decide what happens next). One
    /// client is shared by every store of a process; the caller shuts it down.
    public static func makeHTTPClient(policy: S3RetryPolicy = S3RetryPolicy()) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(
            connect: TimeAmount(policy.connectTimeout), read: TimeAmount(policy.requestTimeout))
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.decompression = .disabled
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// A store for `location`, sharing `client` (the caller shuts it down).
    public init(
        location: S3Location, credentials: AWSCredentials, client: HTTPClient, policy: S3RetryPolicy = S3RetryPolicy(),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.location = location
        self.credentials = credentials
        self.client = client
        self.policy = policy
        self.now = now
    }

    public var description: String {
        "s3://\(location.bucket)\(location.prefix.isEmpty ? "" : "/" + location.prefix) (\(location.baseEndpoint))"
    }

    func objectPath(_ key: ObjectKey) -> String { location.objectPath(key) }

    // MARK: ObjectStore

    public func get(_ key: ObjectKey, maxBytes: Int) async throws(StorageError) -> StoredObject? {
        let reply = try await send("GET", objectPath(key), maxBytes: maxBytes)
        switch reply.status {
        case 200:
            return StoredObject(metadata: metadata(reply.headers, size: reply.body.count), body: reply.body)
        case 404 where reply.errorCode != "NoSuchBucket":
            return nil
        default:
            throw failure(reply, while: "reading \(key)")
        }
    }

    public func head(_ key: ObjectKey) async throws(StorageError) -> ObjectMetadata? {
        let reply = try await send("HEAD", objectPath(key))
        switch reply.status {
        case 200: return metadata(reply.headers, size: Int(reply.headers.first(name: "content-length") ?? "") ?? 0)
        case 404: return nil
        default: throw failure(reply, while: "looking up \(key)")
        }
    }

    @discardableResult
    public func put(_ key: ObjectKey, _ body: [UInt8], options: PutOptions) async throws(StorageError) -> ObjectMetadata
    {
        var headers: [(String, String)] = [
            ("content-type", options.contentType), ("content-length", String(body.count)),
        ]
        if let cacheControl = options.cacheControl { headers.append(("cache-control", cacheControl)) }
        for (name, value) in options.userMetadata.sorted(by: { $0.key < $1.key }) {
            headers.append(("x-amz-meta-\(name.lowercased())", value))
        }
        if options.createOnly { headers.append(("if-none-match", "*")) }
        let reply = try await send("PUT", objectPath(key), headers: headers, body: body)
        switch reply.status {
        case 200:
            return ObjectMetadata(
                contentType: options.contentType, cacheControl: options.cacheControl,
                etag: reply.headers.first(name: "etag") ?? "",
                lastModified: now(), size: body.count, userMetadata: options.userMetadata)
        case 412 where options.createOnly, 409 where options.createOnly:
            throw StorageError(.alreadyExists, "An object already exists at \(key).")
        default:
            throw failure(reply, while: "storing \(key)")
        }
    }

    /// HEAD on the bucket: reachable, the bucket exists, and the credentials are accepted.
    public func checkReachable() async throws(StorageError) {
        let reply = try await send("HEAD", "")
        guard reply.status == 200 else {
            if reply.status == 404 { throw StorageError(.unavailable, "The bucket \(location.bucket) does not exist.") }
            throw failure(reply, while: "checking the bucket")
        }
    }

    /// `ListObjectsV2` under the store's prefix; keys come back relative to it.
    public func listPage(prefix: String, delimiter: String?, continuation: String?, limit: Int)
        async throws(StorageError) -> ListPage
    {
        guard limit > 0 else { return ListPage(objects: []) }
        let base = location.prefix.isEmpty ? "" : location.prefix + "/"
        var query: [(name: String, value: String)] = [
            ("list-type", "2"), ("prefix", base + prefix), ("max-keys", String(min(limit, 1000))),
        ]
        if let delimiter { query.append(("delimiter", delimiter)) }
        if let continuation { query.append(("continuation-token", continuation)) }
        let reply = try await send("GET", "", query: query)
        guard reply.status == 200 else {
            throw failure(reply, while: "listing \(prefix.isEmpty ? "the bucket" : prefix)")
        }
        let document = XMLText(reply.body)
        var objects: [ListedObject] = []
        for entry in document.elements("Contents") {
            guard let name = entry.first("Key"), name.hasPrefix(base) else { continue }
            // A key this store could not address (made by another tool) is not listed rather than fail the page.
            guard let key = try? ObjectKey(String(name.dropFirst(base.count))) else { continue }
            objects.append(ListedObject(key: key, size: entry.first("Size").flatMap(Int.init) ?? 0))
        }
        let folders = document.elements("CommonPrefixes").compactMap { $0.first("Prefix") }
            .filter { $0.hasPrefix(base) }.map { String($0.dropFirst(base.count)) }
        let truncated = document.first("IsTruncated") == "true"
        return ListPage(
            objects: objects, folders: folders,
            continuation: truncated ? document.first("NextContinuationToken") : nil)
    }

    /// `DeleteObjects` in batches of at most 1000 keys (S3's limit), quiet mode: S3 answers only the keys it
    /// could not delete. A batch whose request fails after the retries counts every key of it as failed.
    public func delete(_ keys: [ObjectKey]) async throws(StorageError) -> [DeleteFailure] {
        var failures: [DeleteFailure] = []
        for start in stride(from: 0, to: keys.count, by: 1000) {
            let batch = Array(keys[start..<min(keys.count, start + 1000)])
            var body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Delete><Quiet>true</Quiet>"
            for key in batch { body += "<Object><Key>\(XMLText.escape(objectPath(key)))</Key></Object>" }
            body += "</Delete>"
            let bytes = Array(body.utf8)
            let headers = [
                ("content-type", "application/xml"), ("content-length", String(bytes.count)),
                ("content-md5", Data(Insecure.MD5.hash(data: bytes)).base64EncodedString()),
            ]
            let reply: Reply
            do throws(StorageError) {
                reply = try await send("POST", "", query: [("delete", "")], headers: headers, body: bytes)
                guard reply.status == 200 else { throw failure(reply, while: "deleting objects") }
            } catch {
                failures += batch.map { DeleteFailure(key: $0, error: error) }
                continue
            }
            let byPath = Dictionary(batch.map { (objectPath($0), $0) }, uniquingKeysWith: { first, _ in first })
            for entry in XMLText(reply.body).elements("Error") {
                guard let path = entry.first("Key"), let key = byPath[path] else { continue }
                let code = entry.first("Code") ?? "Error"
                let message = entry.first("Message") ?? ""
                let kind: StorageError.Code = code == "AccessDenied" ? .accessDenied : .unavailable
                failures.append(
                    DeleteFailure(
                        key: key,
                        error: StorageError(
                            kind, "S3 did not delete \(key) (\(code)).", cause: DescribedError("\(code): \(message)"))))
            }
        }
        return failures
    }

    // MARK: Transport

    struct Reply {
        let status: Int
        let headers: HTTPHeaders
        let body: [UInt8]

        /// The `<Code>` of an S3 error document, if any.
        var errorCode: String? { S3ErrorDocument(body)?.code }
    }

    /// Sends a signed request, retrying 5xx, throttling and connection failures with jittered backoff.
    func send(
        _ method: String, _ objectPath: String, query: [(name: String, value: String)] = [],
        headers extra: [(String, String)] = [], body: [UInt8] = [], maxBytes: Int = 16 * 1024 * 1024
    ) async throws(StorageError) -> Reply {
        var lastError: StorageError?
        for attempt in 0..<max(1, policy.attempts) {
            if attempt > 0 {
                let cap = min(policy.maxDelay, policy.baseDelay * (1 << (attempt - 1)))
                let jitter = Double.random(in: 0...1)
                try? await Task.sleep(for: cap * jitter)
            }
            do {
                let reply = try await sendOnce(
                    method, objectPath, query: query, headers: extra, body: body, maxBytes: maxBytes)
                if Self.retryable(status: reply.status, code: reply.errorCode), attempt + 1 < policy.attempts {
                    lastError = failure(reply, while: "talking to S3")
                    continue
                }
                return reply
            } catch let error where error.code == .tooLarge || error.code == .invalidKey {
                throw error
            } catch {
                lastError = error
            }
        }
        throw lastError ?? StorageError(.unavailable, "S3 did not answer.")
    }

    static func retryable(status: Int, code: String?) -> Bool {
        status >= 500 || status == 429 || code == "SlowDown" || code == "RequestTimeout" || code == "InternalError"
    }

    private func sendOnce(
        _ method: String, _ objectPath: String, query: [(name: String, value: String)],
        headers extra: [(String, String)], body: [UInt8], maxBytes: Int
    ) async throws(StorageError) -> Reply {
        var (url, host, _, path) = location.url(for: objectPath)
        if !query.isEmpty {
            url +=
                "?"
                + query.map { "\(SigV4Signer.encode($0.name))=\(SigV4Signer.encode($0.value))" }.joined(separator: "&")
        }
        let signer = SigV4Signer(credentials: credentials, region: location.region, service: "s3")
        let payloadHash = SigV4Signer.payloadHash(body)
        let signed = signer.sign(
            SigningRequest(
                method: method, path: path, query: query, headers: [("host", host)] + extra, payloadHash: payloadHash),
            date: now())
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in extra { request.headers.add(name: name, value: value) }
        for (name, value) in signed.headers { request.headers.add(name: name, value: value) }
        if !body.isEmpty || method == "PUT" { request.body = .bytes(ByteBuffer(bytes: body)) }
        let timeout = TimeAmount(policy.requestTimeout)
        do {
            let response = try await client.execute(request, timeout: timeout)
            let declared = response.headers.first(name: "content-length").flatMap(Int.init)
            if method == "GET", response.status == .ok, let declared, declared > maxBytes {
                throw StorageError(.tooLarge, "The object is \(declared) bytes, over the limit of \(maxBytes).")
            }
            let buffer = try await response.body.collect(upTo: method == "HEAD" ? 0 : max(maxBytes, 64 * 1024))
            let bytes = Array(buffer: buffer)
            if method == "GET", let declared, response.status == .ok, bytes.count != declared {
                throw StorageError(.unavailable, "S3 sent \(bytes.count) of \(declared) bytes.")
            }
            return Reply(status: Int(response.status.code), headers: response.headers, body: bytes)
        } catch let error as StorageError {
            throw error
        } catch let error as NIOTooManyBytesError {
            throw StorageError(
                .tooLarge, "The object is over the limit of \(maxBytes) bytes.", cause: DescribedError(error))
        } catch let error as HTTPClientError
            where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout
        {
            throw StorageError(
                .timeout, "S3 at \(location.baseEndpoint) did not answer in time.", cause: DescribedError(error))
        } catch {
            throw StorageError(
                .unavailable, "S3 at \(location.baseEndpoint) is unreachable or closed the connection.",
                cause: DescribedError(error))
        }
    }

    func failure(_ reply: Reply, while activity: String) -> StorageError {
        let document = S3ErrorDocument(reply.body)
        let code = document?.code ?? "HTTP \(reply.status)"
        let cause = DescribedError("S3 \(reply.status) \(code): \(document?.message ?? "")")
        switch reply.status {
        case 403:
            return StorageError(
                .accessDenied,
                "S3 denied access while \(activity) (\(code)); check the credentials and the bucket policy.",
                cause: cause)
        case 400 where code == "RequestTimeout":
            return StorageError(.timeout, "S3 timed out while \(activity).", cause: cause)
        default:
            return StorageError(.unavailable, "S3 failed while \(activity) (\(code)).", cause: cause)
        }
    }

    func metadata(_ headers: HTTPHeaders, size: Int) -> ObjectMetadata {
        var user: [String: String] = [:]
        for header in headers where header.name.lowercased().hasPrefix("x-amz-meta-") {
            user[String(header.name.lowercased().dropFirst("x-amz-meta-".count))] = header.value
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return ObjectMetadata(
            contentType: headers.first(name: "content-type") ?? "application/octet-stream",
            cacheControl: headers.first(name: "cache-control"),
            etag: headers.first(name: "etag") ?? "",
            lastModified: headers.first(name: "last-modified").flatMap(formatter.date(from:)) ?? now(),
            size: size, userMetadata: user)
    }
}

/// The `<Error><Code>…</Code><Message>…</Message></Error>` document S3 answers failures with.
struct S3ErrorDocument {
    let code: String
    let message: String

    init?(_ body: [UInt8]) {
        let document = XMLText(Array(body.prefix(8192)))
        guard let code = document.first("Code") else { return nil }
        self.code = code
        self.message = document.first("Message") ?? ""
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        self = .nanoseconds(
            Int64(duration.components.seconds) * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }
}

/// The elements of an S3 XML answer, read by name: S3's documents are flat and well formed, and a parser
/// library would add a dependency (libxml2) to the function's package for four tags.
struct XMLText {
    let text: Substring

    init(_ body: [UInt8]) { text = Substring(String(decoding: body, as: UTF8.self)) }
    init(_ text: Substring) { self.text = text }

    /// The contents of every `<name>…</name>` element (attributes allowed, as in `<Invalidation xmlns="…">`), in
    /// order, not nested in themselves.
    func elements(_ name: String) -> [XMLText] {
        var found: [XMLText] = []
        var rest = text[...]
        while let open = rest.range(of: "<\(name)") {
            let after = rest[open.upperBound...]
            guard let next = after.first, next == ">" || next == " ", let end = after.firstIndex(of: ">") else {
                rest = after
                continue
            }
            let contents = after.index(after: end)
            guard let close = rest.range(of: "</\(name)>", range: contents..<rest.endIndex) else { break }
            found.append(XMLText(rest[contents..<close.lowerBound]))
            rest = rest[close.upperBound...]
        }
        return found
    }

    /// The unescaped text of the first `<name>` element.
    func first(_ name: String) -> String? {
        elements(name).first.map { Self.unescape(String($0.text)) }
    }

    static func escape(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&apos;"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    static func unescape(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var result = ""
        var rest = text[...]
        while let amp = rest.firstIndex(of: "&") {
            result += rest[..<amp]
            guard let semicolon = rest[amp...].firstIndex(of: ";") else { break }
            let entity = rest[rest.index(after: amp)..<semicolon]
            switch entity {
            case "amp": result += "&"
            case "lt": result += "<"
            case "gt": result += ">"
            case "quot": result += "\""
            case "apos": result += "'"
            default:
                let number =
                    entity.hasPrefix("#x")
                    ? UInt32(entity.dropFirst(2), radix: 16) : entity.hasPrefix("#") ? UInt32(entity.dropFirst()) : nil
                if let number, let scalar = Unicode.Scalar(number) {
                    result.unicodeScalars.append(scalar)
                } else {
                    result += rest[amp...semicolon]
                }
            }
            rest = rest[rest.index(after: semicolon)...]
        }
        return result + rest
    }
}
