internal import CVips

/// A failed libvips call: which operation, what libvips said, and what kind of failure that was.
///
/// `detail` is libvips' own text. It is for logs only: it can name internal paths and decoder internals,
/// so nothing outside this module branches on it — use ``kind``, which is derived from it in one table.
public struct VipsError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, as far as a caller needs to know.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// The input could not be decoded: corrupt, truncated, or not what its header claims.
        public static let decode = Kind(name: "decode")
        /// The computation was killed, by a deadline or on purpose.
        public static let killed = Kind(name: "killed")
        /// libvips could not allocate memory.
        public static let outOfMemory = Kind(name: "out-of-memory")
        /// An operation that was blocked at start (a refused loader) was asked for.
        public static let blocked = Kind(name: "blocked")
        /// A generic operation call named an operation or argument that does not exist, gave a value of the
        /// wrong type or out of range, or left out a required argument: a bug in the caller, not in the input.
        public static let invalidArgument = Kind(name: "invalid-argument")
        /// Anything else.
        public static let other = Kind(name: "other")
        public var description: String { name }
    }

    /// The libvips operation (or our wrapper's name for it) that failed.
    public var operation: String
    /// libvips' error buffer at the time of the failure. Never shown to clients.
    public var detail: String
    /// The class of failure, from ``classify(_:)``.
    public var kind: Kind

    public init(operation: String, detail: String, kind: Kind? = nil) {
        self.operation = operation
        self.detail = detail
        self.kind = kind ?? Self.classify(detail)
    }

    public var description: String { "libvips \(operation) failed (\(kind)): \(detail)" }

    /// The one place that reads libvips' message text. libvips has no error codes, so its messages are
    /// matched here, lowest-level first; everything else uses the resulting ``Kind``.
    static func classify(_ detail: String) -> Kind {
        let text = detail.lowercased()
        let table: [(Kind, [String])] = [
            (.killed, ["killed for image", "eval callback killed"]),
            (.blocked, ["operation is blocked", "is blocked"]),
            (.outOfMemory, ["out of memory", "unable to allocate", "vips_tracked_malloc"]),
            (
                .decode,
                [
                    "premature end", "corrupt", "truncated", "vipsjpeg", "jpeg", "png", "libpng", "gifload",
                    "nsgif", "webp", "tiff", "heif", "out of order read", "not a known", "unable to read",
                    "bad ", "invalid", "unexpected end", "read error", "decode", "unsupported", "load",
                ]
            ),
        ]
        for (kind, needles) in table where needles.contains(where: text.contains) {
            return kind
        }
        return .other
    }
}

/// A refused generic call: `detail` names the argument and says what was expected.
func invalidArgument(_ operation: String, _ detail: String) -> VipsError {
    VipsError(operation: operation, detail: detail, kind: .invalidArgument)
}

/// The current thread's libvips error, consumed.
func lastError(_ operation: String) -> VipsError {
    var detail = ""
    if let buffer = vips_error_buffer_copy() {
        detail = trimmed(String(cString: buffer))
        g_free(buffer)
    }
    vips_error_clear()
    return VipsError(operation: operation, detail: detail.isEmpty ? "no message" : detail)
}

/// libvips ends its messages with newlines; clients and logs want one clean line.
private func trimmed(_ text: String) -> String {
    var characters = Substring(text)
    while characters.first?.isWhitespace == true { characters.removeFirst() }
    while characters.last?.isWhitespace == true { characters.removeLast() }
    return String(characters)
}
