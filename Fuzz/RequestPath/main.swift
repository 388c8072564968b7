import FuzzDriver
import ObjectStorage
import RenditionService

/// libFuzzer target: arbitrary bytes as a request path, decoded as the router does, then the key it
/// would hand to a store. A key that is accepted must never be able to leave its folder.
func check(_ bytes: [UInt8]) {
    let path = String(decoding: bytes, as: UTF8.self)
    guard let request = try? RequestPath(path) else { return }
    precondition(request.raw.count == request.decoded.count, "one decoded segment per raw segment")
    for segment in request.decoded { precondition(!segment.contains("/"), "a decoded segment never holds '/'") }
    guard request.decoded.count >= 2 else { return }
    for keySegments in [request.decoded[1...], request.decoded.dropFirst(2)] where !keySegments.isEmpty {
        let text = keySegments.joined(separator: "/")
        guard let key = try? ObjectKey(text) else { continue }
        let segments = key.rawValue.split(separator: "/", omittingEmptySubsequences: false)
        precondition(!segments.contains("..") && !segments.contains("."), "no dot segment in a key: \(text)")
        precondition(!key.rawValue.hasPrefix("/"), "keys are relative: \(text)")
        precondition(!key.rawValue.contains("\\"), "no backslash in a key: \(text)")
        precondition(
            !key.rawValue.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }, "no control character")
        precondition(key.rawValue.utf8.count <= ObjectKey.maxLength, "keys are bounded")
        if let prefixed = try? key.prefixed(by: "thumbnail") {
            precondition(prefixed.rawValue.hasPrefix("thumbnail/"), "a rendition key stays under its preset")
        }
    }
}

FuzzEntry.run(check)
