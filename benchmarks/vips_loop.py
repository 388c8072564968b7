"""A bare libvips render loop: the "libvips limit" that `make bench` compares Rendition's engine with.

    python vips_loop.py IMAGE... [--iterations N] [--warmup N] [--format webp|jpeg] [--shrink K] [--save-dir DIR]
    python vips_loop.py IMAGE... --preset product|press --shrink K [--watermark PNG] [--iterations N] ...

For each image: read the file once, then `iterations` times thumbnail it from memory to fit inside 400x400 and
save WebP q80 (or JPEG q80, or lossless PNG) with metadata stripped, one image after another. Prints one JSON line per image with
the process CPU seconds (user + system, every thread) and wall seconds per image.

Without --shrink this is libvips' own `thumbnail` (it picks the shrink-on-load factor, keeping a x2 margin).
With --shrink K it decodes the JPEG at 1/K (libjpeg DCT scaling) and resamples the rest with lanczos3, so the
cost and the quality of each factor can be measured apart from Rendition.

With --preset it runs the same libvips operations as the shipped preset of that name (pipelines/product.yaml:
orient, trim, fit inside 760, pad to a white 800 square, sharpen, WebP q82; pipelines/press.yaml: orient, 1600
wide, the watermark at 0.2 of the width and opacity 0.6 in the south-east corner, progressive JPEG q82), decoding
at the shrink the plan chose (--shrink, from rendition-bench's output), so the ratio measures Rendition's own cost.
The watermark is decoded once, before the loop, as Rendition decodes it once per process.

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


def product(data, shrink):
    image = pyvips.Image.jpegload_buffer(data, shrink=shrink, access="random").autorot()
    background = image.getpoint(0, 0)
    left, top, width, height = image.find_trim(threshold=12, background=background)
    if width > 0 and height > 0:
        image = image.crop(left, top, width, height)
    scale = min(760 / image.width, 760 / image.height, 1.0)
    image = image.resize(scale, kernel="lanczos3")
    image = image.embed((800 - image.width) // 2, (800 - image.height) // 2, 800, 800,
                        extend="background", background=[255, 255, 255])
    image = image.sharpen(sigma=0.8, m1=1.0, m2=2.0).colourspace("srgb").cast("uchar")
    return image.webpsave_buffer(Q=82, strip=True)


def watermarked(image, mark):
    """`press`'s watermark: `mark` at a fifth of the width, 60% opaque, 16 px from the bottom-right corner."""
    mark_scale = min(0.2 * image.width / mark.width, image.width / mark.width, image.height / mark.height)
    overlay = mark.premultiply().resize(mark_scale, kernel="lanczos3").unpremultiply().cast("uchar")
    overlay = overlay.linear([1, 1, 1, 0.6], [0, 0, 0, 0], uchar=True)
    x = image.width - overlay.width - min(16, (image.width - overlay.width) // 2)
    y = image.height - overlay.height - min(16, (image.height - overlay.height) // 2)
    return image.composite2(overlay, "over", x=x, y=y, compositing_space="srgb")[0:3]


def press(data, shrink, mark):
    image = pyvips.Image.jpegload_buffer(data, shrink=shrink, access="sequential").autorot()
    scale = min(1600 / image.width, 1.0)
    image = watermarked(image.resize(scale, kernel="lanczos3"), mark)
    return image.jpegsave_buffer(Q=82, interlace=True, strip=True, optimize_coding=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("images", nargs="+")
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--format", choices=["webp", "jpeg", "png"], default="webp")
    parser.add_argument("--shrink", type=int, default=0)
    parser.add_argument("--save-dir")
    parser.add_argument("--preset", choices=["product", "press"])
    parser.add_argument("--watermark", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                                            "pipelines", "watermarks", "rendition.png"))
    args = parser.parse_args()
    pyvips.cache_set_max(0)  # no operation cache: every iteration decodes, as a service does
    if args.preset and not args.shrink:
        parser.error("--preset needs --shrink (the factor Rendition's plan chose)")
    mark = pyvips.Image.new_from_file(args.watermark).copy_memory() if args.preset == "press" else None
    presets = {"product": lambda data: product(data, args.shrink), "press": lambda data: press(data, args.shrink, mark)}
    run = presets[args.preset] if args.preset else (lambda data: render(data, args.format, args.shrink))

    for path in args.images:
        with open(path, "rb") as handle:
            data = handle.read()
        for _ in range(args.warmup):
            run(data)
        cpu_start, wall_start = cpu_seconds(), time.perf_counter()
        for _ in range(args.iterations):
            out = run(data)
        wall = time.perf_counter() - wall_start
        cpu = cpu_seconds() - cpu_start
        if args.save_dir:
            name = os.path.splitext(os.path.basename(path))[0]
            suffix = f"-{args.preset}" if args.preset else f"-s{args.shrink}" if args.shrink else ""
            extension = {"product": "webp", "press": "jpg"}.get(args.preset, args.format)
            with open(os.path.join(args.save_dir, f"{name}{suffix}.{extension}"), "wb") as handle:
                handle.write(out)
        print(json.dumps({
            "image": path, "iterations": args.iterations, "shrink": args.shrink,
            "cpu_per_image": cpu / args.iterations, "wall_per_image": wall / args.iterations, "bytes": len(out),
        }), flush=True)


if __name__ == "__main__":
    main()
