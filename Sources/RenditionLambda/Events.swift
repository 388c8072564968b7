public import Foundation
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

    /// Reads an event into a request. Throws ``Malformed`` for JSON that is not an HTTP event.
    public static func parse(_ data: [UInt8]) throws(Malformed) -> (RouteRequest, Shape) {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(data))) as? [String: Any] else {
            throw Malformed(description: "the event is not a JSON object")
        }
        var headers: [String: String] = [:]
        for (name, value) in object["headers"] as? [String: Any] ?? [:] {
            if let value = value as? String { headers[name.lowercased()] = value }
        }
        if let cookies = object["cookies"] as? [String], !cookies.isEmpty {
            headers["cookie"] = cookies.joined(separator: "; ")
        }
        if (object["version"] as? String) == "2.0" || object["rawPath"] != nil {
            guard let path = object["rawPath"] as? String,
                let context = object["requestContext"] as? [String: Any], let http = context["http"] as? [String: Any],
                let method = http["method"] as? String
            else { throw Malformed(description: "a payload 2.0 event needs rawPath and requestContext.http.method") }
            return (RouteRequest(method: method, path: path, headers: headers), .v2)
        }
        if let method = object["httpMethod"] as? String, let path = object["path"] as? String {
            // REST APIs hand over a decoded path; re-encode what a raw path could not contain.
            let encoded =
                path.addingPercentEncoding(
                    withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "%"))) ?? path
            for (name, values) in object["multiValueHeaders"] as? [String: Any] ?? [:] {
                if let values = values as? [String], headers[name.lowercased()] == nil {
                    headers[name.lowercased()] = values.joined(separator: ",")
                }
            }
            return (RouteRequest(method: method, path: encoded, headers: headers), .v1)
        }
        throw Malformed(description: "not an API Gateway or function URL event (no rawPath, no httpMethod and path)")
    }

    /// The response document for `shape`: status, headers and body (base64 for binary).
    public static func response(_ routed: RouteResponse, shape: Shape) -> [UInt8] {
        var headers: [String: String] = [:]
        for (name, value) in routed.headers where name.lowercased() != "content-length" { headers[name] = value }
        let isText =
            routed.header("Content-Type").map { $0.hasPrefix("text/") || $0.hasPrefix("application/json") } ?? true
        let body = isText ? String(decoding: routed.body, as: UTF8.self) : Data(routed.body).base64EncodedString()
        var object: [String: Any] = [
            "statusCode": routed.status, "headers": headers, "body": body, "isBase64Encoded": !isText,
        ]
        if shape == .v1 { object["multiValueHeaders"] = headers.mapValues { [$0] } }
        let data =
            (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
            ?? Data("{\"statusCode\":500}".utf8)
        return [UInt8](data)
    }
}
