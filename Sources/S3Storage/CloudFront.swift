public import AsyncHTTPClient
public import Failures
public import Foundation
internal import NIOCore
internal import NIOHTTP1
public import ObjectStorage

/// CloudFront's `CreateInvalidation` (API 2020-05-31), signed with our SigV4: tells every edge to drop
/// paths before their max-age runs out (a purged or deleted rendition).
public struct CloudFrontInvalidator: Sendable {
    /// At most this many paths go out one by one; above it, paths are folded into wildcards
    /// (``paths(for:)``), because CloudFront limits the file paths in progress (3,000) and charges per path.
    public static let maxExactPaths = 300
    /// At most this many wildcard paths are in progress at once on a distribution (CloudFront's limit).
    public static let maxWildcards = 15

    public let distributionID: String
    /// `scheme://host[:port]`; `https://cloudfront.amazonaws.com` on AWS.
    public let endpoint: String
    let credentials: AWSCredentials
    let client: HTTPClient
    let now: @Sendable () -> Date

    public init(
        distributionID: String, credentials: AWSCredentials, client: HTTPClient, endpoint: String? = nil,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.distributionID = distributionID
        self.credentials = credentials
        self.client = client
        self.endpoint = endpoint ?? "https://cloudfront.amazonaws.com"
        self.now = now
    }

    /// Whether `id` looks like a distribution ID (upper-case letters and digits).
    public static func isDistributionID(_ id: String) -> Bool {
        !id.isEmpty && id.count <= 32 && id.allSatisfy { ($0.isUppercase || $0.isNumber) && $0.isASCII }
    }

    /// The paths to send for public paths `paths` (each `/preset/key`, percent-encoded): themselves up to
    /// ``maxExactPaths``, else one `/{first segment}/*` per first segment, else `/*`.
    public static func paths(for paths: [String]) -> [String] {
        let unique = Array(Set(paths)).sorted()
        guard unique.count > maxExactPaths else { return unique }
        let folders = Set(unique.map { path in "/" + (path.dropFirst().split(separator: "/").first ?? "") + "/*" })
        return folders.count <= maxWildcards ? folders.sorted() : ["/*"]
    }

    /// Sends one invalidation for `paths` (already folded with ``paths(for:)``) and returns its ID.
    public func invalidate(_ paths: [String]) async throws(StorageError) -> String {
        let reference = "rendition-\(UUID().uuidString)"
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
        xml += "<InvalidationBatch xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\">"
        xml += "<Paths><Quantity>\(paths.count)</Quantity><Items>"
        for path in paths { xml += "<Path>\(XMLText.escape(path))</Path>" }
        xml += "</Items></Paths><CallerReference>\(reference)</CallerReference></InvalidationBatch>"
        let body = Array(xml.utf8)
        let path = "/2020-05-31/distribution/\(distributionID)/invalidation"
        let host =
            endpoint.split(separator: "/", omittingEmptySubsequences: true).dropFirst().first.map(String.init) ?? ""
        let headers = [("content-type", "application/xml"), ("host", host)]
        // CloudFront is a global service, signed for us-east-1.
        let signer = SigV4Signer(credentials: credentials, region: "us-east-1", service: "cloudfront")
        let signed = signer.sign(
            SigningRequest(method: "POST", path: path, headers: headers, payloadHash: SigV4Signer.payloadHash(body)),
            date: now())
        var request = HTTPClientRequest(url: endpoint + path)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/xml")
        for (name, value) in signed.headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let status: Int
        let answer: [UInt8]
        do {
            let response = try await client.execute(request, timeout: .seconds(30))
            status = Int(response.status.code)
            answer = Array(buffer: try await response.body.collect(upTo: 1024 * 1024))
        } catch {
            throw StorageError(
                .unavailable, "CloudFront at \(endpoint) is unreachable; invalidate the paths by hand.",
                cause: DescribedError(error))
        }
        let document = XMLText(answer)
        guard status == 201, let id = document.elements("Invalidation").first?.first("Id") else {
            let code = document.first("Code") ?? "HTTP \(status)"
            let cause = DescribedError("CloudFront \(status) \(code): \(document.first("Message") ?? "")")
            if status == 403 {
                throw StorageError(
                    .accessDenied,
                    "CloudFront refused the invalidation (\(code)); allow cloudfront:CreateInvalidation on the distribution.",
                    cause: cause)
            }
            throw StorageError(.unavailable, "CloudFront refused the invalidation (\(code)).", cause: cause)
        }
        return id
    }
}
