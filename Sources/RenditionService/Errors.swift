public import ObjectStorage
public import RenditionCore

extension RenditionErrorCode {
    /// The key in the URL cannot name an original (`..`, NUL, absolute, too long).
    public static let invalidKey = Self("invalid_key")
    /// No original exists under the key.
    public static let originalNotFound = Self("original_not_found")
    /// The render queue is full; try again shortly.
    public static let overloaded = Self("overloaded")
    /// A store failed or refused the operation.
    public static let storageFailure = Self("storage_failure")
    /// A store did not answer in time.
    public static let storageTimeout = Self("storage_timeout")
    /// The request is not one the service answers (unknown route or method).
    public static let notFound = Self("not_found")
}

extension RenditionError {
    /// A storage failure as the service reports it.
    static func storage(_ error: StorageError, while activity: String) -> RenditionError {
        switch error.code {
        case .invalidKey:
            RenditionError(.invalidKey, error.message, cause: error)
        case .accessDenied:
            RenditionError(
                .storageFailure, "Storage denied access while \(activity); check the credentials and bucket policy.",
                cause: error)
        case .timeout:
            RenditionError(
                .storageTimeout, "Storage did not answer in time while \(activity); try again.", cause: error)
        default:
            RenditionError(.storageFailure, "Storage failed while \(activity); try again later.", cause: error)
        }
    }
}
