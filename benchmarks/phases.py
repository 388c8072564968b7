"""Per-phase CPU of one 400 px WebP render, as pyvips or as Pillow the way thumbor uses it (bench.py, measurement 11).

    python phases.py vips|pillow IMAGE --shrink K [--iterations N]

Issue 17 asks where each millisecond of a render goes, next to Rendition's own phases (`rendition plan --json`,
key "phases"). This times the same work in the two references, phase by phase, with the process CPU clock
(user + system, every thread; run with VIPS_CONCURRENCY=1), and prints one JSON line: the median of each phase
over `iterations` renders after one warm-up.

- vips: read the file; `jpegload_buffer(shrink=K)` (the header only: libvips is lazy); the decode itself,
  forced with `copy_memory()`; `autorot`; lanczos3 resize to fit inside 400x400; `webpsave_buffer(Q=80,
  effort=4, strip)`, the settings Rendition passes. Each phase is materialised in memory so it can be timed
  apart; "fused" is the same pipeline in one pass, as libvips streams it (the copies are the difference).
- pillow: read; `Image.open` (header); `draft("RGB", (W//K, H//K))` + `load()` (libjpeg DCT scaling to 1/K,
  the scale thumbor's own `draft(None, target size)` picks for these inputs); `resize(LANCZOS)`, thumbor's
  default PILLOW_RESAMPLING_FILTER; `save("WEBP", quality=80, method=4)`, what thumbor's PIL engine calls.
  Pillow's wheel bundles its own libjpeg-turbo and libwebp; pyvips uses Debian's, so the two never share a
  process here.
"""

import argparse
import io
import json
import statistics
import time

BOX = 400


def target(width, height):
    scale = min(BOX / width, BOX / height, 1.0)
    return max(1, round(width * scale)), max(1, round(height * scale))


def read_timed(path):
    """The file's bytes, the phase times so far (its read), and the clock reading to time the next phase from."""
    t = time.process_time()
    with open(path, "rb") as handle:
        data = handle.read()
    return {"read": time.process_time() - t}, data, time.process_time()


def vips_once(path, shrink, size):
    import pyvips
    clock = time.process_time
    times, data, t = read_timed(path)
    image = pyvips.Image.jpegload_buffer(data, shrink=shrink, access="sequential")
    times["header"], t = clock() - t, clock()
    image = image.copy_memory()
    times["decode"], t = clock() - t, clock()
    decoded = [image.width, image.height]
    image = image.autorot().copy_memory()
    times["orient"], t = clock() - t, clock()
    out_w, out_h = target(*size)
    image = image.resize(out_w / image.width, vscale=out_h / image.height, kernel="lanczos3").copy_memory()
    times["resize"], t = clock() - t, clock()
    out = image.webpsave_buffer(Q=80, effort=4, strip=True)
    times["encode"], t = clock() - t, clock()
    # the same work as libvips streams it, without the copies between phases
    streamed = pyvips.Image.jpegload_buffer(data, shrink=shrink, access="sequential").autorot()
    streamed.resize(out_w / streamed.width, vscale=out_h / streamed.height,
                    kernel="lanczos3").webpsave_buffer(Q=80, effort=4, strip=True)
    times["fused"] = clock() - t
    return times, {"decoded": decoded, "output": [out_w, out_h], "bytes": len(out)}


def pillow_once(path, shrink, size):
    from PIL import Image
    clock = time.process_time
    times, data, t = read_timed(path)
    image = Image.open(io.BytesIO(data))
    width, height = image.size
    times["header"], t = clock() - t, clock()
    image.draft("RGB", (width // shrink, height // shrink))
    decoded = image.size
    image.load()
    times["decode"], t = clock() - t, clock()
    out_w, out_h = target(*size)
    image = image.resize((out_w, out_h), Image.Resampling.LANCZOS)
    times["resize"], t = clock() - t, clock()
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", quality=80, method=4)
    times["encode"] = clock() - t
    return times, {"decoded": list(decoded), "output": [out_w, out_h], "bytes": buffer.tell()}


def upright_size(path, engine):
    """The original's size once EXIF-oriented, read before the timed renders with the engine's own library."""
    if engine == "vips":
        import pyvips
        image = pyvips.Image.new_from_file(path)
        width, height = image.width, image.height
        orientation = image.get("orientation") if image.get_typeof("orientation") else 1
    else:
        from PIL import Image
        with Image.open(path) as image:
            width, height = image.size
            orientation = image.getexif().get(0x0112, 1)
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("engine", choices=["vips", "pillow"])
    parser.add_argument("image")
    parser.add_argument("--shrink", type=int, required=True)
    parser.add_argument("--iterations", type=int, default=9)
    args = parser.parse_args()
    if args.engine == "vips":
        import pyvips
        pyvips.cache_set_max(0)  # every render decodes, as a service does
        once = vips_once
        version = f"libvips {pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)} (Debian's libjpeg-turbo, libwebp)"
    else:
        import PIL
        from PIL import features
        once = pillow_once
        version = (f"Pillow {PIL.__version__} (bundled libjpeg-turbo {features.version('libjpeg_turbo')}, "
                   f"libwebp {features.version('webp')})")
    size = upright_size(args.image, args.engine)
    once(args.image, args.shrink, size)  # warm-up: page cache, lazy library initialisation
    samples, info = {}, None
    for _ in range(args.iterations):
        times, info = once(args.image, args.shrink, size)
        for name, seconds in times.items():
            samples.setdefault(name, []).append(seconds)
    phases = [{"name": name, "cpuMilliseconds": statistics.median(values) * 1e3} for name, values in samples.items()]
    total = sum(p["cpuMilliseconds"] for p in phases if p["name"] != "fused")
    print(json.dumps({"engine": args.engine, "version": version, "image": args.image, "shrink": args.shrink,
                      "iterations": args.iterations, "phases": phases, "total": total, **info}), flush=True)


if __name__ == "__main__":
    main()
