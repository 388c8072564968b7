// Fixed-arity wrappers around libvips' variadic C API.
//
// Swift cannot call C variadic functions, so every libvips call that takes a NULL-terminated list of
// optional arguments gets one documented `static inline` wrapper here with exactly the options Rendition
// uses. Only the `Vips` Swift module imports this header. Every wrapper returns libvips' own result
// (0 on success, -1 on failure with the message in the error buffer) so the Swift side checks all of
// them through one function.
#ifndef RENDITION_CVIPS_SHIM_H
#define RENDITION_CVIPS_SHIM_H

#include <gmodule.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vips/vips.h>

/// The only loaders Rendition ever calls. Everything else is blocked at start (see `rv_init`).
typedef enum {
    RV_FORMAT_JPEG = 0,
    RV_FORMAT_PNG = 1,
    RV_FORMAT_WEBP = 2,
    RV_FORMAT_GIF = 3,
    RV_FORMAT_HEIF = 4,
    RV_FORMAT_TIFF = 5,
} RVFormat;

/// Loader class names (and their subclasses) that stay unblocked.
static const char *const rv_allowed_loaders[] = {
    "VipsForeignLoadJpeg", "VipsForeignLoadPng", "VipsForeignLoadWebp",
    "VipsForeignLoadNsgif", "VipsForeignLoadHeif", "VipsForeignLoadTiff",
};

/// The folder of the libvips shared library this process runs (from /proc/self/maps), or NULL. Free it
/// with g_free.
static inline char *rv_libvips_folder(void) {
    FILE *maps = fopen("/proc/self/maps", "r");
    if (!maps)
        return NULL;
    char line[4096];
    char *folder = NULL;
    while (!folder && fgets(line, sizeof line, maps)) {
        char *path = strchr(line, '/');
        if (!path || !strstr(path, "/libvips.so"))
            continue;
        path[strcspn(path, "\n")] = 0;
        folder = g_path_get_dirname(path);
    }
    fclose(maps);
    return folder;
}

/// Loads libvips' HEIF module (HEIC and AVIF), the only libvips module Rendition calls, from beside the
/// libvips library. Without it (the Lambda package ships none) HEIF inputs fail to load, as before.
static inline void rv_load_heif_module(void) {
    char *folder = rv_libvips_folder();
    if (!folder)
        return;
    char *path = g_strdup_printf("%s/vips-modules-%d.%d/vips-heif.%s", folder, VIPS_MAJOR_VERSION,
                                 VIPS_MINOR_VERSION, G_MODULE_SUFFIX);
    if (g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
        GModule *module = g_module_open(path, G_MODULE_BIND_LAZY);
        if (module)
            g_module_make_resident(module); // it registers types: it can never be unloaded
        else
            g_warning("unable to load \"%s\" -- %s", path, g_module_error());
    }
    g_free(path);
    g_free(folder);
}

/// Starts libvips once for the process: operation cache off (renders never repeat an operation, and the
/// cache holds decoded pixels), `concurrency` threads per image (parallelism comes from our own worker
/// pool), every untrusted operation blocked, and every loader blocked except the allow-list above.
static inline int rv_init(const char *argv0, int concurrency) {
    // glibc gives each thread that allocates its own arena (up to 8 per core), and freed pixel buffers
    // stay in them: a render server's memory then climbs for hours. Two arenas keep it flat at no
    // measurable cost (libvips' threads mostly allocate large buffers, which glibc maps on their own).
    // An explicit MALLOC_ARENA_MAX in the environment wins.
    if (!getenv("MALLOC_ARENA_MAX"))
        mallopt(M_ARENA_MAX, 2);
    // glibc raises its mmap threshold each time a large mapped block is freed (up to 32 MiB), after which
    // pixel buffers come from the heap and fragment it. A fixed threshold keeps every buffer of 256 KiB
    // and more in its own mapping, returned to the system the moment it is freed.
    if (!getenv("MALLOC_MMAP_THRESHOLD_"))
        mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    // vips_init loads every module it finds (ImageMagick, poppler, OpenSlide, JPEG XL, HEIF): dozens of
    // libraries and 30-40 ms on every process start, for loaders blocked below anyway, and code an
    // attacker could aim at. With VIPSHOME pointing nowhere it finds none (libvips itself sets VIPSHOME
    // during init when it is unset), and the HEIF module is loaded by hand. A VIPSHOME set by the user
    // keeps libvips' own behaviour.
    gboolean own_modules = g_getenv("VIPSHOME") == NULL;
    if (own_modules)
        g_setenv("VIPSHOME", "/nonexistent/rendition-loads-only-the-heif-module", TRUE);
    if (vips_init(argv0) != 0)
        return -1;
    if (own_modules)
        rv_load_heif_module();
    vips_cache_set_max(0);
    vips_cache_set_max_mem(0);
    vips_cache_set_max_files(0);
    vips_concurrency_set(concurrency);
    vips_block_untrusted_set(TRUE);
    vips_operation_block_set("VipsForeignLoad", TRUE);
    for (size_t i = 0; i < sizeof(rv_allowed_loaders) / sizeof(rv_allowed_loaders[0]); i++)
        vips_operation_block_set(rv_allowed_loaders[i], FALSE);
    return 0;
}

/// Frees a buffer handed to a `VipsBlob` (the blob's free function receives the data and the area).
static int rv_g_free_callback(void *data, void *area) {
    (void)area;
    g_free(data);
    return 0;
}

/// A blob over `length` bytes at `data` that the caller keeps alive; libvips calls `release(data, area)`
/// when the last image reading them is gone. No copy.
static inline VipsBlob *rv_blob_new_borrowed(VipsCallbackFn release, const void *data, size_t length) {
    return vips_blob_new(release, data, length);
}

/// Copies `length` bytes into a new blob that frees itself when its last user (a source, and through it
/// every image decoded from it) is gone. Used for empty inputs, which have no storage to borrow.
static inline VipsBlob *rv_blob_new_copy(const void *data, size_t length) {
    void *copy = g_malloc(length > 0 ? length : 1);
    if (length > 0)
        memcpy(copy, data, length);
    return vips_blob_new(rv_g_free_callback, copy, length);
}

static inline void rv_blob_unref(VipsBlob *blob) { vips_area_unref(VIPS_AREA(blob)); }

/// Opens the loader for `format` on a blob. The image is lazy: only the header is read here.
/// `shrink` is the shrink-on-load factor (JPEG: libjpeg DCT scaling; WebP: libwebp scaled decode; ignored
/// by the other formats). `fail_on` is a `VipsFailOn`; `sequential` chooses the access pattern. Multi-page
/// formats load their first page only.
static inline int rv_load(VipsBlob *blob, RVFormat format, int shrink, int fail_on, int sequential,
                          VipsImage **out) {
    VipsSource *source = vips_source_new_from_blob(blob);
    if (!source)
        return -1;
    VipsAccess access = sequential ? VIPS_ACCESS_SEQUENTIAL : VIPS_ACCESS_RANDOM;
    int result = -1;
    switch (format) {
    case RV_FORMAT_JPEG:
        result = vips_jpegload_source(source, out, "shrink", shrink, "fail_on", fail_on, "access", access,
                                      NULL);
        break;
    case RV_FORMAT_PNG:
        result = vips_pngload_source(source, out, "fail_on", fail_on, "access", access, NULL);
        break;
    case RV_FORMAT_WEBP:
        result = vips_webpload_source(source, out, "scale", 1.0 / (shrink > 0 ? shrink : 1), "fail_on",
                                      fail_on, "access", access, "n", 1, NULL);
        break;
    case RV_FORMAT_GIF:
        result = vips_gifload_source(source, out, "fail_on", fail_on, "access", access, "n", 1, NULL);
        break;
    case RV_FORMAT_HEIF:
        result = vips_heifload_source(source, out, "fail_on", fail_on, "access", access, "n", 1, NULL);
        break;
    case RV_FORMAT_TIFF:
        result = vips_tiffload_source(source, out, "fail_on", fail_on, "access", access, "n", 1, NULL);
        break;
    }
    g_object_unref(source);
    return result;
}

/// Opens a buffer the generic way (libvips picks the loader by sniffing) and closes it again.
/// Rendition never loads like this; it exists to prove that blocked loaders stay unreachable.
static inline int rv_generic_open_buffer(const void *data, size_t length) {
    VipsImage *image = vips_image_new_from_buffer(data, length, "", NULL);
    if (!image)
        return -1;
    g_object_unref(image);
    return 0;
}

/// Whether the operation `nickname` (such as `"svgload_buffer"`) is blocked: 1 blocked, 0 callable, -1 not
/// in this libvips build (a module that is not installed).
static inline int rv_operation_blocked(const char *nickname) {
    if (!vips_type_find("VipsOperation", nickname))
        return -1;
    VipsOperation *operation = vips_operation_new(nickname);
    if (!operation)
        return -1;
    int blocked = (vips_operation_get_flags(operation) & VIPS_OPERATION_BLOCKED) != 0;
    g_object_unref(operation);
    return blocked;
}

/// Evaluation deadline: the eval signal fires as libvips computes tiles; past the deadline it sets the
/// kill flag and the computation fails with "killed". The deadline lives in a heap cell freed with the
/// signal handler.
static void rv_eval_deadline_callback(VipsImage *image, VipsProgress *progress, void *user) {
    (void)progress;
    gint64 deadline = *(gint64 *)user;
    if (g_get_monotonic_time() >= deadline)
        vips_image_set_kill(image, TRUE);
}

static void rv_free_deadline(gpointer data, GClosure *closure) {
    (void)closure;
    g_free(data);
}

/// Kills any evaluation of `image` (and of images computed from it) after `microseconds` from now.
static inline void rv_set_deadline(VipsImage *image, gint64 microseconds) {
    gint64 *deadline = g_new(gint64, 1);
    *deadline = g_get_monotonic_time() + microseconds;
    vips_image_set_progress(image, TRUE);
    g_signal_connect_data(image, "eval", G_CALLBACK(rv_eval_deadline_callback), deadline,
                          rv_free_deadline, 0);
}

/// Ends a job on the current thread: frees libvips' per-thread buffers. The error buffer is not cleared
/// here: it is one per process, so clearing it would erase the message of a job failing on another
/// thread. Each failure consumes it where it happens instead (`lastError` in Swift).
static inline void rv_end_job(void) { vips_thread_shutdown(); }

/// Computes `in` into a new memory image.
static inline int rv_copy_memory(VipsImage *in, VipsImage **out) {
    *out = vips_image_copy_memory(in);
    return *out ? 0 : -1;
}

/// Returns freed heap memory to the system (every arena, not only the top of the main heap).
static inline void rv_release_freed_memory(void) { malloc_trim(0); }

// MARK: - Geometry

static inline int rv_autorot(VipsImage *in, VipsImage **out) { return vips_autorot(in, out, NULL); }
static inline int rv_rot(VipsImage *in, VipsImage **out, VipsAngle angle) {
    return vips_rot(in, out, angle, NULL);
}
static inline int rv_flip(VipsImage *in, VipsImage **out, VipsDirection direction) {
    return vips_flip(in, out, direction, NULL);
}
static inline int rv_extract_area(VipsImage *in, VipsImage **out, int left, int top, int width,
                                  int height) {
    return vips_extract_area(in, out, left, top, width, height, NULL);
}
static inline int rv_smartcrop(VipsImage *in, VipsImage **out, int width, int height,
                               VipsInteresting interesting) {
    return vips_smartcrop(in, out, width, height, "interesting", interesting, NULL);
}
static inline int rv_resize(VipsImage *in, VipsImage **out, double hscale, double vscale,
                            VipsKernel kernel) {
    return vips_resize(in, out, hscale, "vscale", vscale, "kernel", kernel, NULL);
}
/// Pads `in` to `width`×`height` with `in` at (`x`, `y`) and `background` (one value per band) around it.
static inline int rv_embed_background(VipsImage *in, VipsImage **out, int x, int y, int width, int height,
                                      const double *background, int n) {
    VipsArrayDouble *array = vips_array_double_new(background, n);
    int result = vips_embed(in, out, x, y, width, height, "extend", VIPS_EXTEND_BACKGROUND, "background",
                            array, NULL);
    vips_area_unref(VIPS_AREA(array));
    return result;
}
static inline int rv_insert(VipsImage *main, VipsImage *sub, VipsImage **out, int x, int y) {
    return vips_insert(main, sub, out, x, y, NULL);
}

// MARK: - Colour

static inline int rv_flatten(VipsImage *in, VipsImage **out, const double *background, int n) {
    VipsArrayDouble *array = vips_array_double_new(background, n);
    int result = vips_flatten(in, out, "background", array, NULL);
    vips_area_unref(VIPS_AREA(array));
    return result;
}
/// ICC transform to `output_profile`. `input_profile` (may be NULL) is used when the image has no
/// embedded profile, or always when `embedded` is FALSE.
static inline int rv_icc_transform(VipsImage *in, VipsImage **out, const char *output_profile,
                                   const char *input_profile, gboolean embedded) {
    if (input_profile)
        return vips_icc_transform(in, out, output_profile, "input_profile", input_profile, "embedded",
                                  embedded, "intent", VIPS_INTENT_PERCEPTUAL, NULL);
    return vips_icc_transform(in, out, output_profile, "embedded", embedded, "intent",
                              VIPS_INTENT_PERCEPTUAL, NULL);
}
static inline int rv_colourspace(VipsImage *in, VipsImage **out, VipsInterpretation space) {
    return vips_colourspace(in, out, space, NULL);
}
static inline int rv_cast(VipsImage *in, VipsImage **out, VipsBandFormat format) {
    return vips_cast(in, out, format, NULL);
}
static inline int rv_copy(VipsImage *in, VipsImage **out) { return vips_copy(in, out, NULL); }
/// A copy that declares a different interpretation (the pixels are unchanged).
static inline int rv_copy_interpretation(VipsImage *in, VipsImage **out, VipsInterpretation space) {
    return vips_copy(in, out, "interpretation", space, NULL);
}
static inline int rv_bandjoin_const1(VipsImage *in, VipsImage **out, double c) {
    return vips_bandjoin_const1(in, out, c, NULL);
}
static inline int rv_extract_band(VipsImage *in, VipsImage **out, int band, int n) {
    return vips_extract_band(in, out, band, "n", n, NULL);
}
static inline int rv_bandjoin2(VipsImage *a, VipsImage *b, VipsImage **out) {
    return vips_bandjoin2(a, b, out, NULL);
}

// MARK: - Generators (fixtures, padding)

/// A `width`×`height` image of `n` bands, every pixel `color`, as unsigned 8-bit.
static inline int rv_solid(VipsImage **out, int width, int height, const double *color, int n) {
    VipsImage *black = NULL;
    if (vips_black(&black, width, height, "bands", n, NULL) != 0)
        return -1;
    double *zeros = g_new0(double, n);
    int result = vips_linear(black, out, zeros, (double *)color, n, "uchar", TRUE, NULL);
    g_free(zeros);
    g_object_unref(black);
    return result;
}
static inline int rv_gaussnoise(VipsImage **out, int width, int height, double mean, double sigma) {
    VipsImage *noise = NULL;
    if (vips_gaussnoise(&noise, width, height, "mean", mean, "sigma", sigma, NULL) != 0)
        return -1;
    int result = vips_cast(noise, out, VIPS_FORMAT_UCHAR, NULL);
    g_object_unref(noise);
    return result;
}
/// A horizontal 8-bit ramp from 0 to 255, one band.
static inline int rv_grey(VipsImage **out, int width, int height) {
    return vips_grey(out, width, height, "uchar", TRUE, NULL);
}
static inline int rv_draw_rect(VipsImage *image, const double *ink, int n, int left, int top, int width,
                               int height) {
    return vips_draw_rect(image, (double *)ink, n, left, top, width, height, "fill", TRUE, NULL);
}
static inline int rv_getpoint(VipsImage *in, double **vector, int *n, int x, int y) {
    return vips_getpoint(in, vector, n, x, y, NULL);
}
static inline int rv_avg(VipsImage *in, double *out) { return vips_avg(in, out, NULL); }

// MARK: - Savers

static inline int rv_jpegsave_buffer(VipsImage *in, void **buffer, size_t *length, int quality,
                                     gboolean interlace, gboolean optimize_coding,
                                     VipsForeignSubsample subsample, gboolean strip) {
    return vips_jpegsave_buffer(in, buffer, length, "Q", quality, "interlace", interlace,
                                "optimize_coding", optimize_coding, "subsample_mode", subsample,
                                "strip", strip, NULL);
}
static inline int rv_webpsave_buffer(VipsImage *in, void **buffer, size_t *length, int quality,
                                     gboolean lossless, int effort, gboolean smart_subsample,
                                     gboolean strip) {
    return vips_webpsave_buffer(in, buffer, length, "Q", quality, "lossless", lossless, "effort", effort,
                                "smart_subsample", smart_subsample, "strip", strip, NULL);
}
static inline int rv_pngsave_buffer(VipsImage *in, void **buffer, size_t *length, gboolean strip,
                                    gboolean interlace, int bitdepth) {
    return vips_pngsave_buffer(in, buffer, length, "strip", strip, "interlace", interlace, "bitdepth", bitdepth,
                               NULL);
}
static inline int rv_tiffsave_buffer(VipsImage *in, void **buffer, size_t *length) {
    return vips_tiffsave_buffer(in, buffer, length, NULL);
}
static inline int rv_gifsave_buffer(VipsImage *in, void **buffer, size_t *length) {
    return vips_gifsave_buffer(in, buffer, length, NULL);
}
static inline int rv_heifsave_buffer(VipsImage *in, void **buffer, size_t *length, gboolean avif) {
    return vips_heifsave_buffer(in, buffer, length, "compression",
                                avif ? VIPS_FOREIGN_HEIF_COMPRESSION_AV1 : VIPS_FOREIGN_HEIF_COMPRESSION_HEVC,
                                NULL);
}
/// Decodes `in` to packed pixels in memory (caller frees with g_free).
static inline void *rv_write_to_memory(VipsImage *in, size_t *length) {
    return vips_image_write_to_memory(in, length);
}

#endif
