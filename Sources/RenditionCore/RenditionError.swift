public import Failures

/// An error the engine and the service report (see ``CodedError``).
public typealias RenditionError = CodedError<RenditionErrorCode>

/// The codes of ``RenditionError``. Extensible: new codes are new static members.
public struct RenditionErrorCode: ErrorCode {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }

    /// The input is not an image format Rendition accepts (or is empty).
    public static let unsupportedFormat = Self("unsupported_format")
    /// The input claims a supported format but cannot be decoded.
    public static let corruptImage = Self("corrupt_image")
    /// The input's header declares more pixels than the preset allows.
    public static let tooManyPixels = Self("too_many_pixels")
    /// The input has more bytes than the service accepts.
    public static let inputTooLarge = Self("input_too_large")
    /// The preset cannot be applied to this input (for example a crop box outside the image).
    public static let unprocessable = Self("unprocessable")
    /// The render did not finish before its deadline.
    public static let deadlineExceeded = Self("deadline_exceeded")
    /// No preset has this name.
    public static let unknownPreset = Self("unknown_preset")
    /// The URL names a size or format the preset does not declare (`/card@333w/…`); nothing is rendered.
    public static let unknownVariant = Self("unknown_variant")
    /// A pipeline file does not plan.
    public static let invalidPipeline = Self("invalid_pipeline")
    /// A bug or an environment failure; details are in the logs.
    public static let `internal` = Self("internal")
}
