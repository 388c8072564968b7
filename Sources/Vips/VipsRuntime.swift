internal import CVips

/// Process-wide libvips state: start-up with Rendition's safety settings, and per-job cleanup.
public enum VipsRuntime {
    private static let started: Result<Void, VipsError> = {
        let result = rv_init("rendition", 1)
        if result != 0 { return .failure(lastError("vips_init")) }
        return .success(())
    }()

    /// Starts libvips once for the process (safe to call from any thread, any number of times).
    ///
    /// The operation cache is off, each image is computed by one libvips thread (parallelism comes from
    /// the caller's worker pool), untrusted operations are blocked, and every loader except JPEG, PNG,
    /// WebP, GIF, HEIF/AVIF and TIFF is blocked, so SVG, PDF, PostScript, ImageMagick, matlab and friends
    /// can never be reached.
    public static func start() throws(VipsError) {
        try started.get()
    }

    /// Ends a unit of work on the calling thread: drops the error buffer and libvips' per-thread
    /// buffers. Call it at the end of every job that ran libvips on a pooled thread.
    public static func endJob() {
        rv_end_job()
    }

    /// The linked libvips version, such as `8.14.1`.
    public static var version: String {
        String(cString: vips_version_string())
    }

    /// The loader libvips itself would choose for these bytes (such as `svgload_buffer`), or `nil` when
    /// none would (because it is blocked or nothing recognises the bytes). Rendition never loads through
    /// this path; it exists to prove that refused loaders stay unreachable.
    public static func loaderLibvipsWouldUse(for bytes: [UInt8]) -> String? {
        bytes.withUnsafeBytes { raw -> String? in
            guard let base = raw.baseAddress, let name = rv_find_load_buffer(base, raw.count) else {
                return nil
            }
            return String(cString: name)
        }
    }

    /// A monotonic clock in microseconds, the one libvips uses for deadlines.
    public static var monotonicMicroseconds: Int64 { Int64(g_get_monotonic_time()) }
}
