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

    /// Whether libvips has the operation `name`: savers in a module (HEIF's, so AVIF's) are there only when
    /// the module loaded.
    public static func hasOperation(_ name: String) -> Bool {
        (try? start()) != nil && vips_type_find("VipsOperation", name) != 0
    }

    /// Ends a unit of work on the calling thread: frees libvips' per-thread buffers. Call it at the end
    /// of every job that ran libvips on a pooled thread.
    public static func endJob() {
        vips_thread_shutdown()
    }

    /// The linked libvips version, such as `8.14.1`.
    public static var version: String {
        String(cString: vips_version_string())
    }

    /// Why libvips itself refuses to open `bytes` when asked to pick a loader by sniffing, or `nil` when it
    /// opens them. Rendition never loads this way (it calls one allow-listed loader by name); this exists
    /// to prove that the refused loaders (SVG, PDF, ImageMagick, …) are blocked inside libvips too.
    public static func genericOpenError(for bytes: [UInt8]) -> VipsError? {
        bytes.withUnsafeBytes { raw -> VipsError? in
            rv_generic_open_buffer(raw.baseAddress, raw.count) == 0 ? nil : lastError("new_from_buffer")
        }
    }

    /// Whether the libvips operation `nickname` (such as `"pdfload_buffer"`) is blocked, or `nil` when this
    /// libvips build does not have it (its module is not installed).
    public static func isBlocked(_ nickname: String) -> Bool? {
        guard vips_type_find("VipsOperation", nickname) != 0, let operation = vips_operation_new(nickname) else {
            return nil
        }
        defer { g_object_unref(UnsafeMutableRawPointer(operation)) }
        return vips_operation_get_flags(operation).rawValue & VIPS_OPERATION_BLOCKED.rawValue != 0
    }

    /// Hands memory freed by finished renders back to the system (`malloc_trim`). Cheap enough to call
    /// whenever the render pool goes idle; a decoded photo's buffers would otherwise stay resident.
    public static func releaseFreedMemory() {
        malloc_trim(0)
    }

    /// The width and height of every live libvips image in the process (for leak tests): libvips lists
    /// its live objects with `vips_object_map`.
    package static func liveImageSizes() -> [(width: Int, height: Int)] {
        var sizes: [(width: Int, height: Int)] = []
        withUnsafeMutablePointer(to: &sizes) { context in
            _ = vips_object_map(
                { object, context, _ in
                    guard let object, let context,
                        g_type_check_instance_is_a(
                            object.assumingMemoryBound(to: GTypeInstance.self), vips_image_get_type()) != 0
                    else { return nil }
                    let image = object.assumingMemoryBound(to: CVips.VipsImage.self)
                    context.assumingMemoryBound(to: [(width: Int, height: Int)].self).pointee.append(
                        (Int(vips_image_get_width(image)), Int(vips_image_get_height(image))))
                    return nil
                }, context, nil)
        }
        return sizes
    }

    /// A monotonic clock in microseconds, the one libvips uses for deadlines.
    public static var monotonicMicroseconds: Int64 { Int64(g_get_monotonic_time()) }
}
