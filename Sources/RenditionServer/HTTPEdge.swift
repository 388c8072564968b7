public import HTTPTypes
public import RenditionCore
import RenditionService

/// The one place where errors become HTTP statuses.
public enum HTTPEdge {
    /// The status for an error code (design §5).
    public static func status(for code: RenditionError.Code) -> HTTPResponse.Status {
        switch code {
        case .invalidKey: .badRequest
        case .unknownPreset, .originalNotFound, .notFound: .notFound
        case .unsupportedFormat: .unsupportedMediaType
        case .corruptImage, .tooManyPixels, .unprocessable: .unprocessableContent
        case .inputTooLarge: .contentTooLarge
        case .overloaded: .serviceUnavailable
        case .storageFailure: .badGateway
        case .deadlineExceeded, .storageTimeout: .gatewayTimeout
        default: .internalServerError
        }
    }

    /// `{"error": {"code": "...", "message": "..."}}`.
    public static func body(for error: RenditionError) -> String {
        JSONValue.object([
            ("error", .object([("code", .string(error.code.rawValue)), ("message", .string(error.message))]))
        ]).pretty() + "\n"
    }
}

/// A request path split into percent-decoded segments, refusing what could escape a store.
struct RequestPath {
    /// Raw (still encoded) segments, for building redirects that keep the client's spelling.
    let raw: [Substring]
    /// Decoded segments.
    let decoded: [String]

    init(_ path: String) throws(RenditionError) {
        var segments = path.split(separator: "/", omittingEmptySubsequences: false)
        if segments.first == "" { segments.removeFirst() }
        raw = segments
        var decoded: [String] = []
        for segment in segments {
            guard let text = Self.percentDecode(segment) else {
                throw RenditionError(.invalidKey, "The path has a malformed percent-escape; encode it as %XX.")
            }
            if text.contains("/") {
                throw RenditionError(.invalidKey, "The path has an encoded '/' (%2F) in a segment; use a plain '/'.")
            }
            decoded.append(text)
        }
        self.decoded = decoded
    }

    /// `%XX` decoding; `nil` for a malformed escape or bytes that are not UTF-8.
    static func percentDecode(_ text: Substring) -> String? {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next(), let low = iterator.next(),
                    let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
                else { return nil }
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }
}
