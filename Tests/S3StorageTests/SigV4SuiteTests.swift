import Foundation
import S3Storage
import TestSupport
import Testing

/// One case of the published AWS SigV4 test suite (`shared/aws-sigv4-test-suite/<name>/`).
struct SuiteCase: CustomStringConvertible, Sendable {
    let name: String
    let folder: URL

    var description: String { name }

    static var root: URL {
        Repository.root().deletingLastPathComponent().appendingPathComponent("shared/aws-sigv4-test-suite")
    }

    static var all: [SuiteCase] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        return names.sorted().filter {
            FileManager.default.fileExists(atPath: root.appendingPathComponent("\($0)/context.json").path)
        }
        .map { SuiteCase(name: $0, folder: root.appendingPathComponent($0)) }
    }

    func text(_ file: String) throws -> String {
        try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
    }
    func exists(_ file: String) -> Bool {
        FileManager.default.fileExists(atPath: folder.appendingPathComponent(file).path)
    }

    struct Context {
        let credentials: AWSCredentials
        let region: String
        let service: String
        let date: Date
        let normalize: Bool
        let signBody: Bool
        let omitSessionToken: Bool
        let expires: Int
    }

    func context() throws -> Context {
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(text("context.json").utf8)) as? [String: Any])
        let credentials = try #require(json["credentials"] as? [String: Any])
        let formatter = ISO8601DateFormatter()
        return Context(
            credentials: AWSCredentials(
                accessKeyID: credentials["access_key_id"] as! String,
                secretAccessKey: credentials["secret_access_key"] as! String,
                sessionToken: credentials["token"] as? String),
            region: json["region"] as! String, service: json["service"] as! String,
            date: try #require(formatter.date(from: json["timestamp"] as! String)),
            normalize: json["normalize"] as? Bool ?? true, signBody: json["sign_body"] as? Bool ?? false,
            omitSessionToken: json["omit_session_token"] as? Bool ?? false,
            expires: json["expiration_in_seconds"] as? Int ?? 3600)
    }

    /// Parses `request.txt`: request line (the path may hold spaces), headers with folded lines, body.
    func request() throws -> (SigningRequest, body: [UInt8]) {
        let raw = try text("request.txt")
        let (head, body): (Substring, Substring) = {
            if let range = raw.range(of: "\n\n") { return (raw[..<range.lowerBound], raw[range.upperBound...]) }
            return (raw[...], "")
        }()
        var lines = head.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let requestLine = lines.removeFirst()
        let method = String(requestLine.prefix { $0 != " " })
        var target = String(requestLine.dropFirst(method.count + 1))
        if let suffix = target.range(of: " HTTP/", options: .backwards) {
            target = String(target[..<suffix.lowerBound])
        }
        var headers: [(name: String, value: String)] = []
        for line in lines where !line.isEmpty {
            if line.first == " " || line.first == "\t", !headers.isEmpty {
                headers[headers.count - 1].value += "\n" + line
            } else if let colon = line.firstIndex(of: ":") {
                headers.append((String(line[..<colon]), String(line[line.index(after: colon)...])))
            }
        }
        let path: String
        var query: [(name: String, value: String)] = []
        if let mark = target.firstIndex(of: "?") {
            path = String(target[..<mark])
            for pair in target[target.index(after: mark)...].split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                query.append(
                    (
                        parts[0].removingPercentEncoding ?? String(parts[0]),
                        parts.count > 1 ? (parts[1].removingPercentEncoding ?? String(parts[1])) : ""
                    ))
            }
        } else {
            path = target
        }
        let bytes = Array(body.utf8)
        return (
            SigningRequest(
                method: method, path: path, query: query, headers: headers, payloadHash: SigV4Signer.payloadHash(bytes)),
            bytes
        )
    }

    func signer() throws -> SigV4Signer {
        let context = try context()
        return SigV4Signer(
            credentials: context.credentials, region: context.region, service: context.service,
            normalizePath: context.normalize,
            addContentHashHeader: context.signBody, signSessionToken: !context.omitSessionToken)
    }
}

@Suite struct SigV4SuiteTests {
    @Test func theSuiteIsThere() {
        #expect(SuiteCase.all.count >= 30, "expected the AWS suite under ../shared/aws-sigv4-test-suite")
    }

    @Test(arguments: SuiteCase.all)
    func headerSigning(_ suite: SuiteCase) throws {
        let (request, _) = try suite.request()
        let signed = try suite.signer().sign(request, date: try suite.context().date)
        #expect(signed.canonicalRequest == (try suite.text("header-canonical-request.txt")), "\(suite)")
        #expect(signed.stringToSign == (try suite.text("header-string-to-sign.txt")), "\(suite)")
        #expect(
            signed.signature
                == (try suite.text("header-signature.txt")).trimmingCharacters(in: .whitespacesAndNewlines), "\(suite)")
        let expectedAuthorization = try suite.text("header-signed-request.txt").split(separator: "\n")
            .first { $0.lowercased().hasPrefix("authorization:") }.map { String($0.drop { $0 != ":" }.dropFirst()) }
        #expect(signed.headers.first { $0.name == "authorization" }?.value == expectedAuthorization, "\(suite)")
    }

    @Test(arguments: SuiteCase.all.filter { $0.exists("query-canonical-request.txt") })
    func querySigning(_ suite: SuiteCase) throws {
        let (request, _) = try suite.request()
        let context = try suite.context()
        let signed = try suite.signer().presign(request, date: context.date, expires: context.expires)
        #expect(signed.canonicalRequest == (try suite.text("query-canonical-request.txt")), "\(suite)")
        #expect(signed.stringToSign == (try suite.text("query-string-to-sign.txt")), "\(suite)")
        #expect(
            signed.signature == (try suite.text("query-signature.txt")).trimmingCharacters(in: .whitespacesAndNewlines),
            "\(suite)")
    }

    @Test func encodingKeepsOnlyUnreserved() {
        #expect(SigV4Signer.encode("a b+c~d%e/ü") == "a%20b%2Bc~d%25e%2F%C3%BC")
    }
}
