public import Foundation
public import HTTPTypes
public import RenditionService

/// The HTTP event shapes Lambda delivers to a render function, and their responses.
public enum HTTPEvent {
    /// API Gateway HTTP API (payload 2.0) and Lambda function URLs share one shape; REST APIs use 1.0.
    public enum Shape: Sendable, Equatable {
        case v2
        case v1
    }

    /// Why an event could not be read.
    public struct Malformed: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// Reads an event into a request head (the router serves GET and HEAD only, so the body is not read).
    /// Throws ``Malformed`` for JSON that is not an HTTP event.
    public static func parse(_ data: [UInt8]) throws(Malformed) -> (HTTPRequest, Shape) {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(data))) as? [String: Any] else {
            throw Malformed(description: "the event is not a JSON object")
        }
        // Payload 2.0 joins repeated headers with commas; 1.0 lists them in multiValueHeaders, which wins
        // so that each value survives as its own field.
        var fields: [(String, [String])] = []
        let multiValue = object["multiValueHeaders"] as? [String: Any] ?? [:]
        for (name, values) in multiValue {
            if let values = values as? [String] { fields.append((name, values)) }
        }
        let listed = Set(fields.map { $0.0.lowercased() })
        for (name, value) in object["headers"] as? [String: Any] ?? [:] where !listed.contains(name.lowercased()) {
            if let value = value as? String { fields.append((name, [value])) }
        }
        if let cookies = object["cookies"] as? [String], !cookies.isEmpty {
            fields.append(("cookie", [cookies.joined(separator: "; ")]))
        }
        var headerFields = HTTPFields()
        for (name, values) in fields {
            guard let name = HTTPField.Name(name) else { continue }
            for value in values { headerFields.append(HTTPField(name: name, value: value)) }
        }
        if (object["version"] as? String) == "2.0" || object["rawPath"] != nil {
            guard let path = object["rawPath"] as? String,
                let context = object["requestContext"] as? [String: Any], let http = context["http"] as? [String: Any],
                let method = http["method"] as? String
            else { throw Malformed(description: "a payload 2.0 event needs rawPath and requestContext.http.method") }
            return (try request(method, path, headerFields), .v2)
        }
        if let method = object["httpMethod"] as? String, let path = object["path"] as? String {
            // REST APIs hand over a decoded path; re-encode what a raw path could not contain.
            let encoded =
                path.addingPercentEncoding(
                    withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "%"))) ?? path
            return (try request(method, encoded, headerFields), .v1)
        }
        throw Malformed(description: "not an API Gateway or function URL event (no rawPath, no httpMethod and path)")
    }

    static func request(_ method: String, _ path: String, _ headerFields: HTTPFields) throws(Malformed)
        -> HTTPRequest
    {
        guard let method = HTTPRequest.Method(method.uppercased()) else {
            throw Malformed(description: "the method \"\(method)\" is not an HTTP method token")
        }
        return HTTPRequest(method: method, scheme: nil, authority: nil, path: path, headerFields: headerFields)
    }

    /// The response document for `shape`: status, headers and body (base64 for binary).
    public static func response(_ routed: RoutedResponse, shape: Shape) -> [UInt8] {
        var headers: [String: String] = [:]
        for field in routed.head.headerFields where field.name != .contentLength {
            headers[field.name.rawName] = field.value
        }
        let isText =
            routed.head.headerFields[.contentType].map { $0.hasPrefix("text/") || $0.hasPrefix("application/json") }
            ?? true
        let body = isText ? String(decoding: routed.body, as: UTF8.self) : Data(routed.body).base64EncodedString()
        var object: [String: Any] = [
            "statusCode": routed.head.status.code, "headers": headers, "body": body, "isBase64Encoded": !isText,
        ]
        if shape == .v1 { object["multiValueHeaders"] = headers.mapValues { [$0] } }
        let data =
            (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
            ?? Data("{\"statusCode\":500}".utf8)
        return [UInt8](data)
    }
}

/// S3 event notifications (`ObjectCreated:*`, `ObjectRemoved:*`) for the originals bucket: an original was
/// replaced or deleted, so its renditions must go.
public struct S3Event: Sendable, Equatable {
    public struct Record: Sendable, Equatable {
        public let eventName: String
        public let bucket: String
        /// The object key, decoded (S3 sends it URL-encoded with `+` for spaces).
        public let key: String

        public init(eventName: String, bucket: String, key: String) {
            self.eventName = eventName
            self.bucket = bucket
            self.key = key
        }
    }

    public let records: [Record]

    /// The S3 event in `data`, `nil` when it is not one (no `Records` of `aws:s3`), or ``HTTPEvent/Malformed``
    /// when it claims to be one and is not.
    public static func parse(_ data: [UInt8]) throws(HTTPEvent.Malformed) -> S3Event? {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(data))) as? [String: Any],
            let records = object["Records"] as? [Any]
        else { return nil }
        let sources = records.compactMap { ($0 as? [String: Any])?["eventSource"] as? String }
        guard sources.contains("aws:s3") else { return nil }
        var parsed: [Record] = []
        for (index, record) in records.enumerated() {
            guard let record = record as? [String: Any], record["eventSource"] as? String == "aws:s3",
                let name = record["eventName"] as? String, let s3 = record["s3"] as? [String: Any],
                let bucket = (s3["bucket"] as? [String: Any])?["name"] as? String,
                let encoded = (s3["object"] as? [String: Any])?["key"] as? String
            else {
                throw HTTPEvent.Malformed(
                    description:
                        "S3 record \(index) needs eventSource aws:s3, eventName, s3.bucket.name and s3.object.key")
            }
            guard let key = decodeKey(encoded) else {
                throw HTTPEvent.Malformed(description: "S3 record \(index) has a key that is not URL-encoded UTF-8")
            }
            parsed.append(Record(eventName: name, bucket: bucket, key: key))
        }
        return S3Event(records: parsed)
    }

    /// An S3 event key decoded: `+` is a space, then percent escapes (so a literal `+` arrives as `%2B`).
    public static func decodeKey(_ encoded: String) -> String? {
        encoded.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }
}
