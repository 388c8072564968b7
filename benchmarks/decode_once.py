"""Would decoding an original once for all its presets pay? (bench.py, measurement 12; issue 17 item 3)

    python decode_once.py IMAGE --shrinks '{"thumbnail": 8, "product": 1, ...}' [--iterations N] [--rounds R]
                          [--watermark PNG]

The shipped presets of pipelines/ written as the same libvips operations in pyvips (as vips_loop.py does for
`product` and `press`), each from one original, two ways, interleaved round by round (A B A B):

  (i)  separately: each preset decodes the original at its own shrink-on-load factor (the one Rendition's plan
       chose, from `--shrinks`) and runs its pipeline: what a server does today for N requests of one original;
  (ii) once: one decode at the smallest factor any preset needs (the largest image), kept in memory, then each
       preset's pipeline from that image, its sizes computed from the original's, so the outputs have the same
       dimensions as (i)'s.

Prints one JSON line: process CPU per original both ways (median over rounds of the mean over iterations), the
ratio (i) / (ii), each preset's CPU both ways, and the SSIM of each of (ii)'s outputs against (i)'s (1.0 where the
bytes are identical). Run with VIPS_CONCURRENCY=1.

The presets (pipelines/*.yaml): thumbnail (fit 400x400, WebP q80), avatar (1:1 attention crop, cover 256, WebP
q80), card (400 wide, format auto: AVIF q60 effort 2 for a browser that asks for AVIF, Rendition's defaults),
hero (1600 wide, progressive JPEG q82), original-webp (full size, WebP q85), placeholder (32 wide, blur 1.5,
WebP q40), press (1600 wide, watermark, progressive JPEG q82), product (trim, fit 760, pad 800, sharpen, WebP q82).
"""

import argparse
import json
import os
import statistics
import time

import pyvips

from vips_loop import watermarked

HERE = os.path.dirname(os.path.abspath(__file__))


def fit(image, width, height):
    """Lanczos3 to exactly width x height (the sizes come from the original's, so both ways agree)."""
    if (image.width, image.height) == (width, height):
        return image
    return image.resize(width / image.width, vscale=height / image.height, kernel="lanczos3")


def scaled(size, width=None, box=None):
    """The output size of `resize: {width}` or `resize: {width, height: same, fit: inside}` from the original's
    size, never enlarged."""
    w, h = size
    scale = min(width / w, 1.0) if width else min(box / w, box / h, 1.0)
    return max(1, round(w * scale)), max(1, round(h * scale))


def webp(image, q):
    return image.webpsave_buffer(Q=q, effort=4, strip=True)


def jpeg_progressive(image, q):
    return image.jpegsave_buffer(Q=q, interlace=True, optimize_coding=True, strip=True)


class Presets:
    def __init__(self, size, mark):
        self.size, self.mark = size, mark

    def thumbnail(self, image):
        return webp(fit(image, *scaled(self.size, box=400)), 80)

    def avatar(self, image):
        side = min(image.width, image.height)
        square = image.smartcrop(side, side, interesting="attention")
        return webp(fit(square, 256, 256), 80)

    def card(self, image):
        out = fit(image, *scaled(self.size, width=400))
        return out.heifsave_buffer(compression="av1", Q=60, effort=2, bitdepth=8, strip=True)

    def hero(self, image):
        return jpeg_progressive(fit(image, *scaled(self.size, width=1600)), 82)

    def original_webp(self, image):
        return webp(fit(image, *self.size), 85)

    def placeholder(self, image):
        return webp(fit(image, *scaled(self.size, width=32)).gaussblur(1.5), 40)

    def press(self, image):
        return jpeg_progressive(watermarked(fit(image, *scaled(self.size, width=1600)), self.mark), 82)

    def product(self, image):
        # trim decides the scale, so the plan decodes at x1 for this preset; the sizes are the decoded image's
        background = image.getpoint(0, 0)
        left, top, width, height = image.find_trim(threshold=12, background=background)
        if width > 0 and height > 0:
            image = image.crop(left, top, width, height)
        image = fit(image, *scaled((image.width, image.height), box=760))
        image = image.embed((800 - image.width) // 2, (800 - image.height) // 2, 800, 800,
                            extend="background", background=[255, 255, 255])
        image = image.sharpen(sigma=0.8, m1=1.0, m2=2.0).colourspace("srgb").cast("uchar")
        return webp(image, 82)

    def run(self, preset, image):
        return getattr(self, preset.replace("-", "_"))(image)


def decode(data, shrink, access):
    return pyvips.Image.jpegload_buffer(data, shrink=shrink, access=access).autorot()


def separately(data, shrinks, presets, keep):
    cpu, outputs = {}, {}
    for preset, shrink in shrinks.items():
        start = time.process_time()
        out = presets.run(preset, decode(data, shrink, "random" if preset in ("product", "avatar") else "sequential"))
        cpu[preset] = time.process_time() - start
        if keep:
            outputs[preset] = out
    return cpu, outputs


def once(data, shrinks, presets, keep):
    cpu, outputs = {}, {}
    start = time.process_time()
    shared = decode(data, min(shrinks.values()), "sequential").copy_memory()
    cpu["(decode)"] = time.process_time() - start
    for preset in shrinks:
        start = time.process_time()
        out = presets.run(preset, shared)
        cpu[preset] = time.process_time() - start
        if keep:
            outputs[preset] = out
    return cpu, outputs


def pixels(buffer):
    import numpy
    image = pyvips.Image.new_from_buffer(buffer, "")
    image = image[:3] if image.bands > 3 else image
    return numpy.ndarray(buffer=image.write_to_memory(), dtype=numpy.uint8, shape=[image.height, image.width,
                                                                                   image.bands])


def ssim(a, b):
    if a == b:
        return 1.0
    from skimage.metrics import structural_similarity
    x, y = pixels(a), pixels(b)
    if x.shape != y.shape:
        return None
    return float(structural_similarity(x, y, channel_axis=2, data_range=255))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("image")
    parser.add_argument("--shrinks", required=True, help="JSON object: preset -> the plan's shrink-on-load factor")
    parser.add_argument("--iterations", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--watermark", default=os.path.join(HERE, "..", "pipelines", "watermarks", "rendition.png"))
    args = parser.parse_args()
    pyvips.cache_set_max(0)
    shrinks = json.loads(args.shrinks)
    header = pyvips.Image.new_from_file(args.image)
    orientation = header.get("orientation") if header.get_typeof("orientation") else 1
    size = (header.height, header.width) if orientation in (5, 6, 7, 8) else (header.width, header.height)
    presets = Presets(size, pyvips.Image.new_from_file(args.watermark).copy_memory())
    with open(args.image, "rb") as handle:
        data = handle.read()
    _, first = separately(data, shrinks, presets, True)  # warm-up, and the reference outputs
    _, second = once(data, shrinks, presets, True)
    totals = {"separately": [], "once": []}
    per = {"separately": {}, "once": {}}
    for _ in range(args.rounds):
        for way, function in (("separately", separately), ("once", once)):
            start = time.process_time()
            for _ in range(args.iterations):
                cpu, _ = function(data, shrinks, presets, False)
                for key, seconds in cpu.items():
                    per[way].setdefault(key, []).append(seconds)
            totals[way].append((time.process_time() - start) / args.iterations)
    ratios = [a / b for a, b in zip(totals["separately"], totals["once"])]
    print(json.dumps({
        "image": args.image, "size": list(size), "shrinks": shrinks, "shared_shrink": min(shrinks.values()),
        "iterations": args.iterations, "rounds": args.rounds,
        "separately": statistics.median(totals["separately"]), "once": statistics.median(totals["once"]),
        "ratio": statistics.median(ratios),
        "per_preset": {way: {k: statistics.median(v) for k, v in values.items()} for way, values in per.items()},
        "ssim": {preset: ssim(first[preset], second[preset]) for preset in shrinks},
        "bytes": {preset: [len(first[preset]), len(second[preset])] for preset in shrinks},
    }), flush=True)


if __name__ == "__main__":
    main()
