// The little of Rendition's libvips use that must be C. Only the `Vips` Swift module imports this header.
//
// Every libvips operation is called from Swift through the generic call (VipsOperation.swift), which sets
// arguments as GObject properties. What stays here: start-up policy (`rv_init`), the loaders by name, which
// take a source and must never go through format guessing (`rv_load`), the blob callbacks, the deadline
// signal handler, and accessors for GLib macros Swift cannot import. Each says why it is C. Every function
// that can fail returns libvips' own result (0 on success, -1 with the message in the error buffer).
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
/// C because it must run before anything else touches libvips, and sets glibc's allocator policy.
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
    if (own_modules) {
        // A child process (the tests' CLI runs, git under `preview --base`) would inherit the pointer as a
        // VIPSHOME the user set, find no module, and lose HEIF, so AVIF output with it.
        g_unsetenv("VIPSHOME");
        rv_load_heif_module();
    }
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
/// when the last image reading them is gone. No copy. C so the blob's callback type stays on this side.
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

/// Drops one reference to `blob`. C because VIPS_AREA is a cast macro.
static inline void rv_blob_unref(VipsBlob *blob) { vips_area_unref(VIPS_AREA(blob)); }

/// Opens the loader for `format` on a blob. The image is lazy: only the header is read here.
/// `shrink` is the shrink-on-load factor (JPEG: libjpeg DCT scaling; WebP: libwebp scaled decode; ignored
/// by the other formats). `fail_on` is a `VipsFailOn`; `sequential` chooses the access pattern. Multi-page
/// formats load their first page only. C because the `*load_source` calls are variadic and must be called
/// by name: through properties, `vips_foreign_find_load` format guessing is one mistake away.
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
/// Rendition never loads like this; it exists to prove that blocked loaders stay unreachable. C because
/// `vips_image_new_from_buffer` is variadic and is not an operation.
static inline int rv_generic_open_buffer(const void *data, size_t length) {
    VipsImage *image = vips_image_new_from_buffer(data, length, "", NULL);
    if (!image)
        return -1;
    g_object_unref(image);
    return 0;
}

/// Evaluation deadline: the eval signal fires as libvips computes tiles; past the deadline it sets the
/// kill flag and the computation fails with "killed". The deadline lives in a heap cell freed with the
/// signal handler. C because the handler runs on libvips' worker threads inside a GLib signal emission.
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

// MARK: - GLib macros for the generic operation call (VipsOperation.swift)

// G_TYPE_BOOLEAN and the other fundamental types are macro casts, which Swift does not import.
static inline GType rv_type_boolean(void) { return G_TYPE_BOOLEAN; }
static inline GType rv_type_int(void) { return G_TYPE_INT; }
static inline GType rv_type_double(void) { return G_TYPE_DOUBLE; }
static inline GType rv_type_string(void) { return G_TYPE_STRING; }
static inline GType rv_type_enum(void) { return G_TYPE_ENUM; }
static inline GType rv_type_flags(void) { return G_TYPE_FLAGS; }

/// `pspec` as an int spec (for its range), or NULL: G_IS_PARAM_SPEC_INT is a type-check macro.
static inline GParamSpecInt *rv_param_spec_int(GParamSpec *pspec) {
    return G_IS_PARAM_SPEC_INT(pspec) ? G_PARAM_SPEC_INT(pspec) : NULL;
}

/// `pspec` as a double spec (for its range), or NULL: G_IS_PARAM_SPEC_DOUBLE is a type-check macro.
static inline GParamSpecDouble *rv_param_spec_double(GParamSpec *pspec) {
    return G_IS_PARAM_SPEC_DOUBLE(pspec) ? G_PARAM_SPEC_DOUBLE(pspec) : NULL;
}

#endif
