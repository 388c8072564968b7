/// An error Rendition reports: a stable code, a message that says what to do, and the cause.
///
/// The message is public (safe to show to a client); the cause (for example libvips' own text) is for
/// logs only. Transports map ``code`` to a status at their edge; nothing inside the engine knows HTTP.
public struct RenditionError: Error, Sendable, CustomStringConvertible {
    /// A stable, machine-readable error class. Extensible: new codes are new static members.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The code as it appears in JSON error bodies, such as `too_many_pixels`.
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The input is not an image format Rendition accepts (or is empty).
        public static let unsupportedFormat = Code("unsupported_format")
        /// The input claims a supported format but cannot be decoded.
        public static let corruptImage = Code("corrupt_image")
        /// The input's header declares more pixels than the preset allows.
        public static let tooManyPixels = Code("too_many_pixels")
        /// The input has more bytes than the service accepts.
        public static let inputTooLarge = Code("input_too_large")
        /// The preset cannot be applied to this input (for example a crop box outside the image).
        public static let unprocessable = Code("unprocessable")
        /// The render did not finish before its deadline.
        public static let deadlineExceeded = Code("deadline_exceeded")
        /// No preset has this name.
        public static let unknownPreset = Code("unknown_preset")
        /// A pipeline file does not plan.
        public static let invalidPipeline = Code("invalid_pipeline")
        /// A bug or an environment failure; details are in the logs.
        public static let `internal` = Code("internal")
    }

    public var code: Code
    /// A public message that says what happened and what to do about it.
    public var message: String
    /// The underlying error, for logs.
    public var cause: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String {
        if let cause { return "\(code): \(message) (cause: \(cause))" }
        return "\(code): \(message)"
    }
}
