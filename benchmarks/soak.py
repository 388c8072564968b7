#!/usr/bin/env python3
"""Soak test: `rendition serve` under mixed load for a long time, watching errors and memory.

Usage: python3 benchmarks/soak.py --binary .build/release/rendition [--duration 600] [--concurrency 32]

It builds a workspace (the shipped presets, a generated sample photo linked under thousands of keys,
hostile originals), starts the server on loopback, and runs `concurrency` clients for `duration` seconds:
  60% hits      GET /{preset}/hits/{n}.jpg of renditions rendered during warm-up      -> 200
  30% misses    GET /{preset}/fresh/{n}.jpg, never asked before: 307 -> render -> 301 -> 200
  10% hostile   GET /_render/thumbnail/hostile/{file}                                 -> its 4xx
Every second it samples the server's resident memory (VmRSS), printing it every 10 s. At the end it prints a report and exits 1
if a good request failed, a hostile one got anything but its status, or a minute's median memory after
warm-up moved more than 10% away from the mean of those medians (renders in flight make single samples
swing; a leak moves the medians).
"""
import argparse
import http.client
import json
import os
import random
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib

PRESETS = ["thumbnail", "avatar", "hero", "original-webp"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def png_claiming(width, height):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 17)) + chunk(b"IEND", b""))


def hostile_files(sample):
    """(name, bytes, expected status) for a few hostile originals."""
    return [
        ("truncated.jpg", sample[: len(sample) // 2], 422),
        ("text.jpg", b"not an image at all\n", 415),
        ("svg.jpg", b"<svg xmlns='http://www.w3.org/2000/svg' width='9' height='9'/>", 415),
        ("empty.jpg", b"", 415),
        ("flood.png", png_claiming(100000, 100000), 422),
        ("garbage.jpg", sample[:600] + os.urandom(20000), 422),
    ]


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.latencies = {"hit": [], "miss": [], "hostile": []}
        self.errors = {"hit": [], "miss": [], "hostile": []}

    def record(self, kind, seconds, error=None):
        with self.lock:
            if error:
                self.errors[kind].append(error)
            else:
                self.latencies[kind].append(seconds)


class Client:
    def __init__(self, port):
        self.port = port
        self.connection = None

    def get(self, path):
        for attempt in range(2):
            try:
                if self.connection is None:
                    self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                self.connection.request("GET", path)
                response = self.connection.getresponse()
                body = response.read()
                if response.getheader("Connection", "").lower() == "close":
                    self.connection.close()
                    self.connection = None
                return response.status, response.getheader("Location"), body
            except (http.client.HTTPException, ConnectionError, socket.timeout):
                if self.connection:
                    self.connection.close()
                self.connection = None
                if attempt == 1:
                    raise


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--duration", type=float, default=600)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--warmup", type=float, default=60, help="seconds before memory must be flat")
    parser.add_argument("--mix", default="60,30,10", help="percent of hits, misses and hostile requests")
    arguments = parser.parse_args()
    binary = os.path.abspath(arguments.binary)
    repository = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

    workspace = tempfile.mkdtemp(prefix="rendition-soak-")
    try:
        shutil.copytree(os.path.join(repository, "pipelines"), os.path.join(workspace, "pipelines"))
        originals = os.path.join(workspace, "data", "originals")
        for folder in ["hits", "fresh", "hostile"]:
            os.makedirs(os.path.join(originals, folder))
        sample_path = os.path.join(workspace, "sample.jpg")
        subprocess.run([binary, "sample", sample_path], check=True, stdout=subprocess.DEVNULL)
        sample = open(sample_path, "rb").read()
        # Hard links: thousands of keys for one file, so every miss is a real render of a real photo.
        fresh_count = 20000
        for index in range(200):
            os.link(sample_path, os.path.join(originals, "hits", "%d.jpg" % index))
        for index in range(fresh_count):
            os.link(sample_path, os.path.join(originals, "fresh", "%d.jpg" % index))
        hostile = hostile_files(sample)
        for name, data, _ in hostile:
            with open(os.path.join(originals, "hostile", name), "wb") as f:
                f.write(data)
        with open(os.path.join(workspace, "rendition.yaml"), "w") as f:
            f.write("limits:\n  queueSize: %d\n" % (arguments.concurrency * 2))

        port = free_port()
        log = open(os.path.join(workspace, "server.log"), "w")
        env = dict(os.environ, RENDITION_LOG_LEVEL="warning")
        server = subprocess.Popen([binary, "serve", "--port", str(port), "--no-sample"], cwd=workspace,
                                  stdout=subprocess.DEVNULL, stderr=log, env=env)
        try:
            run(arguments, port, server, hostile)
        finally:
            server.kill()
            server.wait()
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


def rss_bytes(pid, field="VmRSS"):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def metric(port, name):
    status, _, body = Client(port).get("/metrics")
    for line in body.decode().splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.split()[-1])
    return 0.0


def run(arguments, port, server, hostile):
    client = Client(port)
    for _ in range(100):
        try:
            if client.get("/healthz")[0] == 200:
                break
        except Exception:
            pass
        time.sleep(0.1)
    else:
        sys.exit("rendition serve did not start")

    # Warm-up renders for the hit set.
    for index in range(200):
        preset = PRESETS[index % len(PRESETS)]
        status, _, _ = client.get("/_render/%s/hits/%d.jpg" % (preset, index))
        if status != 301:
            sys.exit("warm-up render failed with %d" % status)

    stats = Stats()
    stop = threading.Event()
    fresh = iter(range(10 ** 9))
    fresh_lock = threading.Lock()

    hit_share, miss_share, _ = [float(part) / 100 for part in arguments.mix.split(",")]

    def worker(seed):
        rng = random.Random(seed)
        c = Client(port)
        while not stop.is_set():
            roll = rng.random()
            start = time.monotonic()
            try:
                if roll < hit_share:
                    index = rng.randrange(200)
                    status, _, body = c.get("/%s/hits/%d.jpg" % (PRESETS[index % len(PRESETS)], index))
                    error = None if status == 200 and body else "hit %d" % status
                    stats.record("hit", time.monotonic() - start, error)
                elif roll < hit_share + miss_share:
                    with fresh_lock:
                        n = next(fresh)
                    key = "%s/fresh/%d.jpg" % (PRESETS[n % len(PRESETS)], (n // len(PRESETS)) % 20000)
                    status, location, _ = c.get("/" + key)
                    error = None
                    if status == 307:
                        status, location, _ = c.get(location)
                        if status == 301:
                            status, _, body = c.get(location)
                            error = None if status == 200 and body else "miss final %d" % status
                        else:
                            error = "render %d" % status
                    elif status != 200:
                        error = "miss %d" % status
                    stats.record("miss", time.monotonic() - start, error)
                else:
                    name, _, expected = hostile[rng.randrange(len(hostile))]
                    status, _, _ = c.get("/_render/thumbnail/hostile/" + name)
                    stats.record("hostile", time.monotonic() - start,
                                 None if status == expected else "%s: %d, expected %d" % (name, status, expected))
            except Exception as error:  # a dropped connection is an error of its class
                kind = "hit" if roll < hit_share else "miss" if roll < hit_share + miss_share else "hostile"
                stats.record(kind, time.monotonic() - start, repr(error))

    threads = [threading.Thread(target=worker, args=(seed,), daemon=True) for seed in range(arguments.concurrency)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    samples = []
    last_print = 0.0
    while time.monotonic() - began < arguments.duration:
        time.sleep(1)
        if server.poll() is not None:
            stop.set()
            sys.exit("the server exited with %s" % server.returncode)
        elapsed = time.monotonic() - began
        samples.append((elapsed, rss_bytes(server.pid)))
        if elapsed - last_print >= 10:
            last_print = elapsed
            with stats.lock:
                done = sum(len(v) for v in stats.latencies.values())
                failed = sum(len(v) for v in stats.errors.values())
            print("t=%4.0fs rss=%6.1f MiB requests=%d errors=%d" % (elapsed, samples[-1][1] / 2 ** 20, done, failed),
                  flush=True)
    stop.set()
    for thread in threads:
        thread.join(timeout=120)

    renders = metric(port, "rendition_renders_total")
    peak = rss_bytes(server.pid, "VmHWM")
    # Instantaneous RSS swings with the renders in flight (a full-size WebP holds its picture for a moment),
    # so flatness is judged on each minute's median after warm-up: a leak moves those, a burst does not.
    minutes = {}
    for elapsed, rss in samples:
        if elapsed >= arguments.warmup:
            minutes.setdefault(int((elapsed - arguments.warmup) // 60), []).append(rss)
    medians = [statistics.median(values) for _, values in sorted(minutes.items())] or [samples[-1][1]]
    mean = statistics.mean(medians)
    drift = max(abs(rss - mean) / mean for rss in medians)

    def quantile(values, q):
        if not values:
            return float("nan")
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    print()
    print("| class | requests | errors | p50 ms | p99 ms |")
    print("|---|---|---|---|---|")
    for kind in ["hit", "miss", "hostile"]:
        values = stats.latencies[kind]
        print("| %s | %d | %d | %.1f | %.1f |" % (kind, len(values) + len(stats.errors[kind]), len(stats.errors[kind]),
                                                 quantile(values, 0.5), quantile(values, 0.99)))
    print()
    print("duration %.0f s, concurrency %d, renders %d, peak RSS %.0f MiB" % (
        arguments.duration, arguments.concurrency, renders, peak / 2 ** 20))
    print("RSS per-minute medians after %.0f s warm-up (MiB): %s; largest drift from their mean %.1f%%" % (
        arguments.warmup, ", ".join("%.0f" % (m / 2 ** 20) for m in medians), drift * 100))
    print(json.dumps({"rss_every_10s_mib": [round(rss / 2 ** 20, 1) for _, rss in samples[9::10]]}))

    failures = []
    for kind in ["hit", "miss", "hostile"]:
        if stats.errors[kind]:
            failures.append("%d %s errors, first: %s" % (len(stats.errors[kind]), kind, stats.errors[kind][0]))
    if drift > 0.10:
        failures.append("a minute's median memory moved %.1f%% from their mean after warm-up" % (drift * 100))
    if failures:
        print("\n".join("FAIL: " + f for f in failures))
        sys.exit(1)
    print("PASS")


if __name__ == "__main__":
    main()
