"""WebP settings at equal SSIM (bench.py, measurement 13; issue 17 item 4).

    python webp_parity.py prepare OUT NAME=PATH:SHRINK...    # 400 px lossless PNGs of the benchmark images (pyvips)
    python webp_parity.py sweep vips|pillow OUT [--qualities 60,61,...]
    python webp_parity.py cpu vips|pillow OUT --settings '[["default", 80], ...]' [--iterations N]

`prepare` makes what Rendition's thumb400 gives the encoder: JPEG decoded at the plan's shrink-on-load factor,
autorot, lanczos3 to fit inside 400x400, as PNG. `sweep` encodes those PNGs with every setting at every quality and
prints one JSON line per (setting, quality): mean SSIM against the PNG itself (so only the encoder's loss counts)
and mean bytes. `cpu` times the encode of the given (setting, quality) pairs, interleaved, with the process CPU
clock (one libvips thread: run with VIPS_CONCURRENCY=1), per image.

Settings through libvips 8.14's webpsave (what Rendition calls, Debian's libwebp 1.2.4): Rendition's default (Q,
effort 4, smart_subsample off; libvips' defaults for the rest: preset default, alpha_q 100, near_lossless off), and
each libwebp parameter that webpsave exposes changed alone: effort 2 and 6 (libwebp's `method`; reduction_effort is
its old name), smart_subsample (libwebp's use_sharp_yuv), preset photo and picture (WebPConfigPreset: they set
sns_strength, filter_strength, filter_sharpness and preprocessing; webpsave has no other way to reach the filter
settings) and near_lossless (lossless mode with Q as the near-lossless level). alpha_q only acts on an alpha plane,
and these photos have none. With `pillow`: Pillow's WebP save as thumbor calls it (quality, method 4; Pillow's
wheel bundles libwebp 1.6), on the same PNGs, in a process of its own.
"""

import argparse
import io
import json
import os
import statistics
import time

VIPS_SETTINGS = {
    "default": {},
    "effort 2": {"effort": 2},
    "effort 6": {"effort": 6},
    "smart_subsample": {"smart_subsample": True},
    "preset photo": {"preset": "photo"},
    "preset picture": {"preset": "picture"},
    "near_lossless": {"near_lossless": True},
}
PILLOW_SETTINGS = {"thumbor (Pillow, method 4)": {"method": 4}}
# near_lossless makes lossless files (Q is the preprocessing level, 100 = none): far above the lossy SSIMs at any
# level, and slow, so a few levels are enough to show it
NEAR_LOSSLESS_LEVELS = [0, 20, 40, 60, 80, 100]


def pngs(folder):
    return sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".png"))


class Vips:
    def __init__(self):
        import pyvips
        pyvips.cache_set_max(0)
        self.pyvips = pyvips
        self.settings = VIPS_SETTINGS

    def load(self, path):
        return self.pyvips.Image.new_from_file(path).copy_memory()

    def encode(self, image, setting, quality):
        options = dict(Q=quality, effort=4, strip=True)  # Rendition's call (VipsImage.webpData)
        options.update(self.settings[setting])
        return image.webpsave_buffer(**options)

    def pixels(self, data):
        import numpy
        image = self.pyvips.Image.new_from_buffer(data, "") if isinstance(data, bytes) else data
        image = image[:3] if image.bands > 3 else image
        return numpy.ndarray(buffer=image.write_to_memory(), dtype=numpy.uint8,
                             shape=[image.height, image.width, image.bands])


class Pillow:
    def __init__(self):
        from PIL import Image
        self.Image = Image
        self.settings = PILLOW_SETTINGS

    def load(self, path):
        image = self.Image.open(path)
        image.load()
        return image.convert("RGB")

    def encode(self, image, setting, quality):
        buffer = io.BytesIO()
        image.save(buffer, "WEBP", quality=quality, **self.settings[setting])
        return buffer.getvalue()

    def pixels(self, data):
        import numpy
        image = self.Image.open(io.BytesIO(data)).convert("RGB") if isinstance(data, bytes) else data
        return numpy.asarray(image)


def prepare(out, specs):
    import pyvips
    os.makedirs(out, exist_ok=True)
    for spec in specs:
        name, _, rest = spec.partition("=")
        path, _, shrink = rest.rpartition(":")
        image = pyvips.Image.jpegload(path, shrink=int(shrink)).autorot()
        full = pyvips.Image.new_from_file(path)
        orientation = full.get("orientation") if full.get_typeof("orientation") else 1
        width, height = (full.height, full.width) if orientation in (5, 6, 7, 8) else (full.width, full.height)
        scale = min(400 / width, 400 / height, 1.0)
        w, h = round(width * scale), round(height * scale)
        image.resize(w / image.width, vscale=h / image.height, kernel="lanczos3").pngsave(
            os.path.join(out, f"{name}.png"), compression=1, strip=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["prepare", "sweep", "cpu"])
    parser.add_argument("rest", nargs="+")
    parser.add_argument("--qualities", default="60-96")
    parser.add_argument("--settings")
    parser.add_argument("--iterations", type=int, default=10)
    args = parser.parse_args()
    if args.mode == "prepare":
        prepare(args.rest[0], args.rest[1:])
        return
    engine_name, folder = args.rest
    engine = Vips() if engine_name == "vips" else Pillow()
    images = {os.path.splitext(os.path.basename(p))[0]: engine.load(p) for p in pngs(folder)}
    if args.mode == "sweep":
        from skimage.metrics import structural_similarity
        low, _, high = args.qualities.partition("-")
        references = {name: engine.pixels(image) for name, image in images.items()}
        for setting in engine.settings:
            levels = NEAR_LOSSLESS_LEVELS if setting == "near_lossless" else range(int(low), int(high) + 1)
            for quality in levels:
                per = {}
                for name, image in images.items():
                    data = engine.encode(image, setting, quality)
                    score = structural_similarity(references[name], engine.pixels(data), channel_axis=2,
                                                  data_range=255)
                    per[name] = {"ssim": float(score), "bytes": len(data)}
                print(json.dumps({"engine": engine_name, "setting": setting, "quality": quality,
                                  "ssim": statistics.fmean(p["ssim"] for p in per.values()),
                                  "bytes": statistics.fmean(p["bytes"] for p in per.values()), "per": per}),
                      flush=True)
        if engine_name == "vips":  # alpha_q on opaque images: the same bytes, or it does something here
            same = all(engine.encode(image, "default", 80) == image.webpsave_buffer(Q=80, effort=4, strip=True,
                                                                                    alpha_q=50)
                       for image in images.values())
            print(json.dumps({"engine": engine_name, "alpha_q_identical": same}), flush=True)
        return
    pairs = list(dict.fromkeys(tuple(p) for p in json.loads(args.settings)))
    for setting, quality in pairs:  # warm-up
        for image in images.values():
            engine.encode(image, setting, quality)
    cpu = {pair: 0.0 for pair in pairs}
    for _ in range(args.iterations):
        for pair in pairs:  # interleaved: every setting once per iteration
            start = time.process_time()
            for image in images.values():
                engine.encode(image, *pair)
            cpu[pair] += time.process_time() - start
    for (setting, quality), seconds in cpu.items():
        print(json.dumps({"engine": engine_name, "setting": setting, "quality": quality,
                          "cpu_per_image": seconds / args.iterations / len(images)}), flush=True)


if __name__ == "__main__":
    main()
