/// A stable, machine-readable class of failure, such as `too_many_pixels`. Each domain (the engine, the
/// stores) has its own code type, extensible with new static members.
public protocol ErrorCode: Hashable, Sendable, CustomStringConvertible {
    /// The code as it appears in JSON error bodies and logs.
    var rawValue: String { get }
    init(_ rawValue: String)
}

extension ErrorCode {
    public var description: String { rawValue }
}

/// An error Rendition reports: a stable code, a public message that says what to do, and the cause.
///
/// The message is safe to show to a client; the cause (for example libvips' or a store's own text) is for
/// logs only. Transports map ``code`` to a status at their edge; nothing below them knows HTTP.
public struct CodedError<C: ErrorCode>: Error, Sendable, CustomStringConvertible {
    public typealias Code = C

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
        cause.map { "\(code): \(message) (cause: \($0))" } ?? "\(code): \(message)"
    }
}

/// Any error (or text), kept as its description so it can travel as a `Sendable` cause.
public struct DescribedError: Error, Sendable, CustomStringConvertible {
    public let description: String

    public init(_ error: any Error) { description = "\(error)" }
    public init(_ text: String) { description = text }
}
