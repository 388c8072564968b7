"""A bare libvips render loop: the "libvips limit" that `make bench` compares Rendition's engine with.

    python vips_loop.py IMAGE... [--iterations N] [--warmup N] [--format webp|jpeg] [--shrink K] [--save-dir DIR]

For each image: read the file once, then `iterations` times thumbnail it from memory to fit inside 400x400 and
save WebP q80 (or JPEG q80, or lossless PNG) with metadata stripped, one image after another. Prints one JSON line per image with
the process CPU seconds (user + system, every thread) and wall seconds per image.

Without --shrink this is libvips' own `thumbnail` (it picks the shrink-on-load factor, keeping a x2 margin).
With --shrink K it decodes the JPEG at 1/K (libjpeg DCT scaling) and resamples the rest with lanczos3, so the
cost and the quality of each factor can be measured apart from Rendition.

Run with VIPS_CONCURRENCY=1 (bench.py does) so that libvips computes on one thread, as Rendition's engine does.
"""

import argparse
import json
import os
import resource
import time

import pyvips

BOX = 400


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def render(data, fmt, shrink):
    if shrink:
        image = pyvips.Image.jpegload_buffer(data, shrink=shrink, access="sequential")
        image = image.autorot()
        scale = min(BOX / image.width, BOX / image.height, 1.0)
        image = image.resize(scale, kernel="lanczos3")
    else:
        image = pyvips.Image.thumbnail_buffer(data, BOX, height=BOX)
    if fmt == "webp":
        return image.webpsave_buffer(Q=80, strip=True)
    if fmt == "png":  # lossless, for measuring what the resize alone costs in quality
        return image.pngsave_buffer(compression=1, strip=True)
    return image.jpegsave_buffer(Q=80, strip=True, optimize_coding=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("images", nargs="+")
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--format", choices=["webp", "jpeg", "png"], default="webp")
    parser.add_argument("--shrink", type=int, default=0)
    parser.add_argument("--save-dir")
    args = parser.parse_args()
    pyvips.cache_set_max(0)  # no operation cache: every iteration decodes, as a service does

    for path in args.images:
        with open(path, "rb") as handle:
            data = handle.read()
        for _ in range(args.warmup):
            render(data, args.format, args.shrink)
        cpu_start, wall_start = cpu_seconds(), time.perf_counter()
        for _ in range(args.iterations):
            out = render(data, args.format, args.shrink)
        wall = time.perf_counter() - wall_start
        cpu = cpu_seconds() - cpu_start
        if args.save_dir:
            name = os.path.splitext(os.path.basename(path))[0]
            suffix = f"-s{args.shrink}" if args.shrink else ""
            with open(os.path.join(args.save_dir, f"{name}{suffix}.{args.format}"), "wb") as handle:
                handle.write(out)
        print(json.dumps({
            "image": path, "iterations": args.iterations, "shrink": args.shrink,
            "cpu_per_image": cpu / args.iterations, "wall_per_image": wall / args.iterations, "bytes": len(out),
        }), flush=True)


if __name__ == "__main__":
    main()
