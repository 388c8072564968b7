internal import Crypto
public import Foundation

/// AWS credentials: an access key pair and, for temporary credentials (Lambda, STS), a session token.
public struct AWSCredentials: Sendable, Hashable {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`, or `nil` if the pair is missing.
    public static func fromEnvironment(_ environment: [String: String]) -> AWSCredentials? {
        guard let id = environment["AWS_ACCESS_KEY_ID"], !id.isEmpty, let secret = environment["AWS_SECRET_ACCESS_KEY"],
            !secret.isEmpty
        else { return nil }
        let token = environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        return AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: token)
    }
}

/// A request to sign: method, the path exactly as it goes on the wire (already percent-encoded the way
/// the service expects), query parameters (decoded), headers and the payload's SHA-256.
public struct SigningRequest: Sendable {
    public var method: String
    /// The decoded path, such as `/bucket/photos/a b.jpg`; the signer encodes it.
    public var path: String
    /// Decoded query parameters, in any order.
    public var query: [(name: String, value: String)]
    /// Headers, in order; repeated names are joined with commas as HTTP allows.
    public var headers: [(name: String, value: String)]
    /// Hex SHA-256 of the body, or `UNSIGNED-PAYLOAD`.
    public var payloadHash: String

    public init(
        method: String, path: String, query: [(name: String, value: String)] = [],
        headers: [(name: String, value: String)] = [],
        payloadHash: String = SigV4Signer.emptyPayloadHash
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.payloadHash = payloadHash
    }
}

/// AWS Signature Version 4, as a pure value: the time is a parameter, so every step is testable.
///
/// Steps follow the AWS "Create a signed AWS API request" guide: (1) canonical request, (2) string to sign,
/// (3) signing key by HMAC chain from the secret, (4) signature, (5) `Authorization` header or query.
public struct SigV4Signer: Sendable {
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"
    static let algorithm = "AWS4-HMAC-SHA256"

    public var credentials: AWSCredentials
    public var region: String
    public var service: String
    /// Whether to remove `.`/`..` segments and repeated slashes from the path before signing. S3 signs the
    /// path as sent and must not normalise (a key may contain `//` or `..`).
    public var normalizePath: Bool
    /// Whether to add `x-amz-content-sha256` (S3 requires it).
    public var addContentHashHeader: Bool
    /// Whether the session token is part of the signature (`true`), or added after signing (`false`, as a
    /// few services expect).
    public var signSessionToken: Bool

    public init(
        credentials: AWSCredentials, region: String, service: String, normalizePath: Bool? = nil,
        addContentHashHeader: Bool? = nil, signSessionToken: Bool = true
    ) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.normalizePath = normalizePath ?? (service != "s3")
        self.addContentHashHeader = addContentHashHeader ?? (service == "s3")
        self.signSessionToken = signSessionToken
    }

    /// Everything signing produced, for tests and for building the request.
    public struct Signed: Sendable {
        public var canonicalRequest: String
        public var stringToSign: String
        public var signature: String
        /// Headers to add to the request (`x-amz-date`, `x-amz-content-sha256`, `x-amz-security-token`,
        /// `authorization`), or nothing for presigned requests.
        public var headers: [(name: String, value: String)]
        /// Query parameters to add (presigned requests), already percent-encoded.
        public var query: [(name: String, value: String)]
    }

    // MARK: Header signing

    /// Signs `request` at `date` with an `Authorization` header.
    public func sign(_ request: SigningRequest, date: Date) -> Signed {
        let (amzDate, day) = Self.timestamps(date)
        var added: [(String, String)] = [("x-amz-date", amzDate)]
        if addContentHashHeader { added.append(("x-amz-content-sha256", request.payloadHash)) }
        if let token = credentials.sessionToken, signSessionToken { added.append(("x-amz-security-token", token)) }
        let headers = canonicalHeaders(request.headers + added)
        let signedHeaders = headers.map(\.name).joined(separator: ";")
        let canonical = canonicalRequest(
            method: request.method, path: request.path,
            query: canonicalQuery(request.query.map { (Self.encode($0.name), Self.encode($0.value)) }),
            headers: headers, signedHeaders: signedHeaders, payloadHash: request.payloadHash)
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = [Self.algorithm, amzDate, scope, Self.hex(SHA256.hash(data: Array(canonical.utf8)))].joined(
            separator: "\n")
        let signature = Self.signature(
            stringToSign, secret: credentials.secretAccessKey, day: day, region: region, service: service)
        var output = added
        if let token = credentials.sessionToken, !signSessionToken { output.append(("x-amz-security-token", token)) }
        output.append(
            (
                "authorization",
                "\(Self.algorithm) Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
            ))
        return Signed(
            canonicalRequest: canonical, stringToSign: stringToSign, signature: signature, headers: output, query: [])
    }

    // MARK: Query signing (presigned URLs)

    /// Signs `request` at `date` into query parameters valid for `expires` seconds.
    public func presign(_ request: SigningRequest, date: Date, expires: Int) -> Signed {
        let (amzDate, day) = Self.timestamps(date)
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let headers = canonicalHeaders(request.headers)
        let signedHeaders = headers.map(\.name).joined(separator: ";")
        var added: [(String, String)] = [
            ("X-Amz-Algorithm", Self.algorithm), ("X-Amz-Credential", "\(credentials.accessKeyID)/\(scope)"),
            ("X-Amz-Date", amzDate),
            ("X-Amz-Expires", String(expires)), ("X-Amz-SignedHeaders", signedHeaders),
        ]
        if let token = credentials.sessionToken, signSessionToken { added.append(("X-Amz-Security-Token", token)) }
        let encoded = (request.query + added).map { (Self.encode($0.0), Self.encode($0.1)) }
        let canonical = canonicalRequest(
            method: request.method, path: request.path, query: canonicalQuery(encoded), headers: headers,
            signedHeaders: signedHeaders,
            payloadHash: request.payloadHash)
        let stringToSign = [Self.algorithm, amzDate, scope, Self.hex(SHA256.hash(data: Array(canonical.utf8)))].joined(
            separator: "\n")
        let signature = Self.signature(
            stringToSign, secret: credentials.secretAccessKey, day: day, region: region, service: service)
        var query = added.map { (Self.encode($0.0), Self.encode($0.1)) }
        if let token = credentials.sessionToken, !signSessionToken {
            query.append(("X-Amz-Security-Token", Self.encode(token)))
        }
        query.append(("X-Amz-Signature", signature))
        return Signed(
            canonicalRequest: canonical, stringToSign: stringToSign, signature: signature, headers: [], query: query)
    }

    // MARK: Steps

    /// Step 1: method, canonical URI, canonical query, canonical headers, signed headers, payload hash.
    func canonicalRequest(
        method: String, path: String, query: String, headers: [(name: String, value: String)], signedHeaders: String,
        payloadHash: String
    ) -> String {
        let headerLines = headers.map { "\($0.name):\($0.value)\n" }.joined()
        return [method, canonicalURI(path), query, headerLines, signedHeaders, payloadHash].joined(separator: "\n")
    }

    /// The path, optionally normalised, with each segment percent-encoded once (RFC 3986 unreserved kept).
    func canonicalURI(_ path: String) -> String {
        var segments = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if normalizePath {
            var output: [String] = []
            for segment in segments.dropFirst() {
                switch segment {
                case "", ".": continue
                case "..": if !output.isEmpty { output.removeLast() }
                default: output.append(segment)
                }
            }
            let trailing = path.hasSuffix("/") && !output.isEmpty
            segments = [""] + output + (trailing ? [""] : [])
            if output.isEmpty { return "/" }
        }
        let encoded = segments.map { Self.encode($0) }.joined(separator: "/")
        return encoded.isEmpty ? "/" : encoded
    }

    /// Query parameters sorted by encoded name, then encoded value.
    func canonicalQuery(_ encoded: [(String, String)]) -> String {
        encoded.sorted { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    /// Lower-case names, sorted; values trimmed with inner runs of spaces collapsed; repeats joined by commas.
    func canonicalHeaders(_ headers: [(name: String, value: String)]) -> [(name: String, value: String)] {
        var merged: [String: [String]] = [:]
        for (name, value) in headers {
            let collapsed = value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }).joined(
                separator: " ")
            merged[name.lowercased(), default: []].append(collapsed)
        }
        return merged.keys.sorted().map { ($0, merged[$0]!.joined(separator: ",")) }
    }

    /// Steps 3 and 4: the signing key from the secret, then the signature of the string to sign.
    static func signature(_ stringToSign: String, secret: String, day: String, region: String, service: String)
        -> String
    {
        var key = SymmetricKey(data: Array("AWS4\(secret)".utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        return hex(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key))
    }

    /// `20150830T123600Z` and `20150830`, in UTC.
    static func timestamps(_ date: Date) -> (String, String) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func pad(_ value: Int?, _ width: Int) -> String {
            let text = String(value ?? 0)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let day = pad(parts.year, 4) + pad(parts.month, 2) + pad(parts.day, 2)
        return (day + "T" + pad(parts.hour, 2) + pad(parts.minute, 2) + pad(parts.second, 2) + "Z", day)
    }

    /// Percent-encodes everything but RFC 3986 unreserved characters (`A–Z a–z 0–9 - . _ ~`), as SigV4 and S3 require.
    public static func encode(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                result += "%" + String(byte, radix: 16, uppercase: true).leftPadded(2)
            }
        }
        return result
    }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { String($0, radix: 16).leftPadded(2) }.joined()
    }

    /// Hex SHA-256 of `bytes`.
    public static func payloadHash(_ bytes: [UInt8]) -> String { hex(SHA256.hash(data: bytes)) }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
