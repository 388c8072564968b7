"""`make bench`: Rendition side by side with libvips, thumbor and nginx, in one run (issues 6 and 14).

Run through benchmarks/run.sh, which installs the tools, builds the release binaries and starts this with the
virtualenv's Python (pyvips, thumbor, scikit-image). Every comparison is interleaved (A B A B ...) and reported
as medians and ratios; the machine is assumed shared and noisy, so absolute numbers are only context.

Environment:
  BENCH_QUICK=1      fewer rounds and 6 s wrk runs instead of 20 s (development; a few minutes)
  BENCH_BIN=DIR      folder holding the release `rendition`, `bootstrap` and `rendition-bench` (run.sh sets it)
  BENCH_WORK=DIR     scratch folder for inputs, stores and logs (default benchmarks/.work, gitignored)
  BENCH_ONLY=1,3,5   run only these measurements (1-13); the inputs are always prepared. 8-10 are the output
                     formats (issue 14): 8 JPEG, WebP and AVIF at equal SSIM, 9 AVIF encode per rendition vs
                     thumbor's AVIF, 10 a `format: auto` preset over HTTP. BENCH_ONLY=formats means 8,9,10.
                     11-13 are issue 17's: 11 CPU per phase of one render (`rendition plan --json`'s "phases")
                     beside pyvips' and Pillow's (as thumbor uses it), 12 every shipped preset of one original
                     over HTTP and what decoding it once would save, 13 WebP settings at equal SSIM.
  BENCH_INPUTS=a,b   only these inputs (names as in the results, e.g. 5120x2880,camera-5640x3172-mozprog, or
                     `progressive` for issue 17's derived progressive and camera inputs); default: all

Issue 17's inputs (rows 2, 3, 11 and 13 use them beside the three benchmark images): progressive JPEGs derived
losslessly from the 5120x2880 baseline wallpaper with Debian's `jpegtran` (libjpeg's default script, and a
mozjpeg-style script with one DC scan per component), and a real camera photo with its EXIF (Debian's
mate-backgrounds: a 5640x3172 crop from a Sony DSC-RX100M4), as baseline and the same two progressive scripts.
"""

import json
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
WORK = os.path.abspath(os.environ.get("BENCH_WORK", os.path.join(HERE, ".work")))
BIN = os.path.abspath(os.environ.get("BENCH_BIN", os.path.join(ROOT, ".build", "release")))
FORMAT_STEPS = {8, 9, 10}
ONLY = set().union(*(FORMAT_STEPS if x.strip() == "formats" else {int(x)}
                     for x in os.environ.get("BENCH_ONLY", "").split(",") if x.strip()))
INPUTS = {x.strip() for x in os.environ.get("BENCH_INPUTS", "").split(",") if x.strip()}
RESULTS = os.path.join(HERE, "results", "latest.md")
CORES = os.cpu_count() or 1
PYTHON = sys.executable
VENV_BIN = os.path.dirname(PYTHON)

# Sizes of the run. The issue asks for 20 s wrk runs at c = 2 and 8; quick mode is for development only.
WRK_SECONDS = 6 if QUICK else 20
HTTP_ROUNDS = 1 if QUICK else 2
CLI_ROUNDS = 3 if QUICK else 9
INPROC_ROUNDS = 2 if QUICK else 4
INPROC_ITERATIONS = 4 if QUICK else 12
HIT_ROUNDS = 2 if QUICK else 3
HIT_SECONDS = 5 if QUICK else 10
STRESS_ROUNDS = 2 if QUICK else 3
COLD_RUNS = 5 if QUICK else 11
BATCH_ROUNDS = 1 if QUICK else 3
BATCH_FILES = 200
KEY_COPIES = 2500  # hard links per image: more than any wrk run asks for, so every request renders
# 8. Formats at equal SSIM: the qualities swept per format (then refined to the unit next to each target), the
# AVIF efforts compared (Rendition's default 2, libvips' default 4), and the in-process CPU rounds.
FORMAT_SWEEP = {"jpeg": list(range(50, 100, 5)), "webp": list(range(50, 100, 5)), "avif": list(range(25, 95, 5))}
AVIF_EFFORTS = (2, 4)
FORMAT_CPU_ROUNDS = 2 if QUICK else 3
FORMAT_CPU_ITERATIONS = 3 if QUICK else 8
# A current Chrome's Accept for images: what a browser sends for <img>, so `format: auto` picks AVIF.
CHROME_ACCEPT = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
# libvips' heifsave sets libaom's speed to 9 - effort; thumbor's AVIF (Pillow) is given the same speed.
AVIF_DEFAULT_EFFORT, AVIF_DEFAULT_QUALITY = 2, 60
# 11. CPU per phase: renders per image for `rendition plan --json` (one render per process) and the references.
PHASE_RUNS = 5 if QUICK else 11
PHASE_ITERATIONS = 5 if QUICK else 15
# 12. Every shipped preset of one original: concurrent cold bursts over HTTP, and the pyvips estimate.
BURST_ROUNDS = 2 if QUICK else 5
ONCE_ROUNDS, ONCE_ITERATIONS = (2, 1) if QUICK else (3, 3)
# 13. WebP settings: the qualities swept per setting, and the encode CPU rounds.
WEBP_SWEEP = list(range(60, 97))
WEBP_CPU_ROUNDS, WEBP_CPU_ITERATIONS = (2, 5) if QUICK else (3, 20)

WALLPAPERS_PACKAGE = "plasma-workspace-wallpapers"
# The benchmark images, from Debian's plasma-workspace-wallpapers (bookworm: 4:5.27.5-2).
IMAGE_SOURCES = {
    "5120x2880": "usr/share/wallpapers/SafeLanding/contents/images/5120x2880.jpg",  # baseline, 4.2 MB
    "2560x1600": "usr/share/wallpapers/Autumn/contents/images/2560x1600.jpg",  # progressive, 0.7 MB
}

# Issue 17: a real camera photo with its EXIF (Make, Model, exposure), from Debian's mate-backgrounds (bookworm:
# 1.26.0-1): a 5640x3172 crop of a Sony DSC-RX100M4 frame, saved by GIMP as a progressive 4:2:2 JPEG (libjpeg's
# default script: `jpegtran -progressive` of its baseline gives the same bytes), no ICC profile. No Debian package
# found ships a 14 MP camera JPEG; this is the nearest (17.9 MP). gnome-backgrounds, ukui-wallpapers and
# lomiri-wallpapers-20.04 have no camera EXIF; the other mate-backgrounds photos are at most 2560x1920 (DiMAGE Z5,
# EOS 350D/400D).
CAMERA_PACKAGE = "mate-backgrounds"
CAMERA_SOURCE = "usr/share/backgrounds/mate/abstract/Elephants_5640x3172.jpg"
CAMERA_NAME = "camera-5640x3172"
# mozjpeg's default progression for YCbCr (jcparam.c, jpeg_simple_progression with JCP_MAX_COMPRESSION and
# dc_scan_opt_mode 1, its default: one DC scan per component), in libjpeg's scan-script syntax (wizard.txt).
MOZJPEG_SCANS = """# mozjpeg-style: one DC scan per component, then luma AC by successive approximation
0: 0-0, 0, 0;
1: 0-0, 0, 0;
2: 0-0, 0, 0;
0: 1-8, 0, 2;
1: 1-8, 0, 0;
2: 1-8, 0, 0;
0: 9-63, 0, 2;
0: 1-63, 2, 1;
0: 1-63, 1, 0;
1: 9-63, 0, 0;
2: 9-63, 0, 0;
"""

COMMANDS = []  # every command run, in order of first use, for the results file
LOG_DIR = os.path.join(WORK, "logs")


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def record(cmd):
    text = cmd if isinstance(cmd, str) else shlex.join(cmd)
    text = re.sub(r"(\S+/batch/in/)000\.jpg( \S+/batch/in/\d+\.jpg)+", r"\g<1>000.jpg … \g<1>199.jpg", text)
    text = text.replace(WORK, "$WORK").replace(BIN, "$BIN").replace(VENV_BIN, "$VENV").replace(ROOT + "/", "")
    text = re.sub(r" -p \d+ ", " -p $PORT ", text)
    text = re.sub(r"/nginx/([\w-]+?)-\d+", r"/nginx/\1-$N", text)
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:$PORT", text)
    text = re.sub(r"(/c/[\w.]+/)\d+(\.jpg)", r"\1N\2", text)
    text = re.sub(r"fmt-([\w-]+?)-q\d+", r"fmt-\1-qQ", text)  # the quality sweep: one line per format
    if text not in COMMANDS:
        COMMANDS.append(text)


def run(cmd, **kwargs):
    record(cmd)
    return subprocess.run(cmd, check=True, **kwargs)


def median(values):
    return statistics.median(values) if values else float("nan")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_status(pid, field):
    """A kB field of /proc/PID/status (VmHWM: peak resident set, VmRSS: current), or 0 once the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


def timed(cmd, env=None, cwd=None):
    """Runs a whole process; returns (wall seconds, peak RSS in kB, CPU seconds) from wait4's rusage."""
    record(cmd)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if proc.returncode != 0:
        raise RuntimeError(f"{shlex.join(cmd)} failed ({proc.returncode}):\n{stderr}")
    return wall, usage.ru_maxrss, usage.ru_utime + usage.ru_stime


# ---------------------------------------------------------------------------------------------------------------
# Inputs


def prepare_inputs():
    """Downloads the wallpapers package, picks the benchmark JPEGs and makes the 48 MP stand-in with libvips."""
    inputs = os.path.join(WORK, "inputs")
    unpacked = os.path.join(inputs, "unpacked")
    os.makedirs(inputs, exist_ok=True)
    if not os.path.isdir(unpacked):
        debs = [f for f in os.listdir(inputs) if f.startswith(WALLPAPERS_PACKAGE) and f.endswith(".deb")]
        if not debs:
            log(f"downloading {WALLPAPERS_PACKAGE} (about 94 MB)")
            run(["apt-get", "download", WALLPAPERS_PACKAGE], cwd=inputs, stderr=subprocess.DEVNULL)
            debs = [f for f in os.listdir(inputs) if f.startswith(WALLPAPERS_PACKAGE) and f.endswith(".deb")]
        run(["dpkg-deb", "-x", os.path.join(inputs, debs[0]), unpacked + ".tmp"])
        os.rename(unpacked + ".tmp", unpacked)
    images = {}
    for name, relative in IMAGE_SOURCES.items():
        path = os.path.join(unpacked, relative)
        if not os.path.isfile(path):
            sys.exit(f"bench: {relative} is not in {WALLPAPERS_PACKAGE}; update IMAGE_SOURCES in benchmarks/bench.py")
        images[name] = path
    # Every real 2560x1600 and 5120x2880 JPEG of the package (links excluded): the batch, and the 48 MP tiles.
    wallpapers = os.path.join(unpacked, "usr/share/wallpapers")
    tiles, large = [], []
    for theme in sorted(os.listdir(wallpapers)):
        for size, bucket in (("2560x1600", tiles), ("5120x2880", large)):
            path = os.path.join(wallpapers, theme, "contents/images", f"{size}.jpg")
            if os.path.isfile(path) and not os.path.islink(path):
                bucket.append(path)
    big = os.path.join(inputs, "8000x6000.jpg")
    if not os.path.exists(big):
        log("making the 8000x6000 JPEG from 16 wallpapers with libvips")
        mosaic = os.path.join(inputs, "mosaic.v")
        sixteen = [tiles[i % len(tiles)] for i in range(16)]
        run(["vips", "arrayjoin", " ".join(sixteen), mosaic, "--across", "4"], stderr=subprocess.DEVNULL)
        # 10240x6400 -> the centre 8000x6000, as a camera would write it (baseline, q90, 4:2:0)
        run(["vips", "extract_area", mosaic, big + "[Q=90]", "1120", "200", "8000", "6000"],
            stderr=subprocess.DEVNULL)
        os.remove(mosaic)
    images["8000x6000"] = big
    return images, tiles + large


def debian_file(package, relative, inputs):
    """`relative` from Debian's `package`, downloaded once into `inputs` and unpacked under inputs/PACKAGE/."""
    unpacked = os.path.join(inputs, package)
    if not os.path.isdir(unpacked):
        debs = [f for f in os.listdir(inputs) if f.startswith(package + "_") and f.endswith(".deb")]
        if not debs:
            log(f"downloading {package}")
            run(["apt-get", "download", package], cwd=inputs, stderr=subprocess.DEVNULL)
            debs = [f for f in os.listdir(inputs) if f.startswith(package + "_") and f.endswith(".deb")]
        run(["dpkg-deb", "-x", os.path.join(inputs, debs[0]), unpacked + ".tmp"])
        os.rename(unpacked + ".tmp", unpacked)
    path = os.path.join(unpacked, relative)
    if not os.path.isfile(path):
        sys.exit(f"bench: {relative} is not in {package}; update benchmarks/bench.py")
    return path


def jpegtran(source, target, *options):
    """A lossless rewrite of `source`'s scans with Debian's jpegtran (same coefficients, so the same pixels),
    EXIF and every other marker kept."""
    if not os.path.exists(target):
        run(["jpegtran", "-copy", "all", *options, "-outfile", target + ".tmp", source])
        os.rename(target + ".tmp", target)
    return target


def prepare_progressive(images):
    """Issue 17's inputs: the 5120x2880 baseline wallpaper made progressive with libjpeg's default script
    (`jpegtran -progressive`) and with a mozjpeg-style script (`-scans`, one DC scan per component), and the
    camera photo as baseline (`jpegtran -optimize`: sequential, from its progressive original) and with the
    same two scripts."""
    if not shutil.which("jpegtran"):
        sys.exit("bench: jpegtran is missing; run `make bench` (benchmarks/run.sh installs libjpeg-turbo-progs)")
    inputs = os.path.join(WORK, "inputs")
    folder = os.path.join(inputs, "progressive")
    os.makedirs(folder, exist_ok=True)
    scans = os.path.join(folder, "mozjpeg-scans.txt")
    with open(scans, "w") as handle:
        handle.write(MOZJPEG_SCANS)
    camera = os.path.join(folder, f"{CAMERA_NAME}.jpg")
    jpegtran(debian_file(CAMERA_PACKAGE, CAMERA_SOURCE, inputs), camera, "-optimize")
    extra = {}
    for name, baseline in (("5120x2880", images["5120x2880"]), (CAMERA_NAME, camera)):
        if name == CAMERA_NAME:
            extra[name] = camera
        extra[f"{name}-prog"] = jpegtran(baseline, os.path.join(folder, f"{name}-prog.jpg"), "-progressive")
        extra[f"{name}-mozprog"] = jpegtran(baseline, os.path.join(folder, f"{name}-mozprog.jpg"), "-scans", scans)
    return extra


def select_inputs(images):
    """BENCH_INPUTS: the named inputs only (`progressive` names issue 17's)."""
    if not INPUTS:
        return images
    return {name: path for name, path in images.items() if name in INPUTS or
            ("progressive" in INPUTS and (name.endswith("prog") or name.startswith("camera-")))}


def write_preset(folder, name, encode, issue=6):
    """A benchmark preset: orient, fit inside 400x400, then `encode` (a flow mapping such as {format: webp})."""
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, f"{name}.yaml"), "w") as handle:
        handle.write(
            f"description: benchmark preset (issue {issue})\n"
            f"stages:\n"
            f"  - orient: {{}}\n"
            f"  - resize: {{width: 400, height: 400, fit: inside}}\n"
            f"  - encode: {encode}\n")


def write_pipelines():
    folder = os.path.join(WORK, "pipelines")
    for name, encode in (("thumb400", "{format: webp, quality: 80}"), ("thumb400-jpeg", "{format: jpeg, quality: 80}")):
        write_preset(folder, name, encode)
    # issue 14: AVIF at Rendition's defaults (quality 60, effort 2), and `format: auto` with its default
    # candidates [avif, webp, jpeg] and each one's default quality
    write_preset(folder, "thumb400-avif", "{format: avif}", issue=14)
    write_preset(folder, "thumb400-auto", "{format: auto}", issue=14)
    return folder


def make_originals(images):
    """KEY_COPIES hard links of each image under originals/c/NAME/N.jpg (plus w0..w3 for warm-ups)."""
    originals = os.path.join(WORK, "originals")
    for name, path in images.items():
        folder = os.path.join(originals, "c", name)
        if os.path.exists(os.path.join(folder, f"{KEY_COPIES - 1}.jpg")):
            continue
        os.makedirs(folder, exist_ok=True)
        for key in [str(n) for n in range(KEY_COPIES)] + [f"w{n}" for n in range(4)]:
            target = os.path.join(folder, f"{key}.jpg")
            if not os.path.exists(target):
                os.link(path, target)
    return originals


# ---------------------------------------------------------------------------------------------------------------
# Servers


class Server:
    """One server process, in its own process group so that stopping it reaches its children.

    Not in its own session: with the kernel's autogroup scheduling (sched_autogroup_enabled = 1) every session
    is one scheduling group, so a peer started as N sessions (thumbor x N) would get N shares of a machine
    shared with other jobs and Rendition one. Every server stays in the benchmark's session."""

    def __init__(self, name, cmd, port, env=None, cwd=None, ready_path="/"):
        self.name, self.cmd, self.port, self.env, self.cwd, self.ready_path = name, cmd, port, env, cwd, ready_path
        self.proc = None

    def start(self):
        record(self.cmd)
        os.makedirs(LOG_DIR, exist_ok=True)
        self.log = open(os.path.join(LOG_DIR, f"{self.name}-{self.port}.log"), "ab")
        self.proc = subprocess.Popen(self.cmd, env=self.env, cwd=self.cwd, stdout=self.log, stderr=subprocess.STDOUT,
                                     process_group=0)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {self.log.name}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{self.ready_path}", timeout=2):
                    return self
            except urllib.error.HTTPError:
                return self  # it answers
            except (urllib.error.URLError, ConnectionError, socket.timeout):
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer on port {self.port} within 60 s")

    def peak_kb(self):
        return proc_status(self.proc.pid, "VmHWM")

    def rss_kb(self):
        return proc_status(self.proc.pid, "VmRSS")

    def cpu_seconds(self):
        """User + system CPU the process has used so far (/proc/PID/stat), every thread."""
        try:
            with open(f"/proc/{self.proc.pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


class Group:
    """Servers started and stopped together; the first one is where clients connect; `measured` sum up peak RSS."""

    def __init__(self, front, measured, others=()):
        self.front, self.measured, self.others = front, measured, list(others)

    @property
    def port(self):
        return self.front.port

    def peak_kb(self):
        return sum(server.peak_kb() for server in self.measured)

    def rss_kb(self):
        return sum(server.rss_kb() for server in self.measured)

    def cpu_seconds(self):
        return sum(server.cpu_seconds() for server in self.measured)

    def stop(self):
        for server in [self.front] + [s for s in self.measured + self.others if s is not self.front]:
            server.stop()


def rendition_server(pipelines, originals, store, workers=None):
    port = free_port()
    env = dict(os.environ, RENDITION_HOST="127.0.0.1", RENDITION_PORT=str(port), RENDITION_PIPELINES=pipelines,
               RENDITION_SOURCE_PATH=originals, RENDITION_RENDITIONS_PATH=store, RENDITION_LOG_LEVEL="warning")
    if workers:
        env["RENDITION_WORKERS"] = str(workers)
    # BENCH_RENDITION_ENV="MALLOC_ARENA_MAX=2 ..." tries a setting on Rendition's server only (tuning experiments)
    for assignment in os.environ.get("BENCH_RENDITION_ENV", "").split():
        key, _, value = assignment.partition("=")
        env[key] = value
    os.makedirs(store, exist_ok=True)
    server = Server("rendition", [os.path.join(BIN, "rendition"), "serve", "--no-sample"], port, env=env, cwd=WORK,
                    ready_path="/readyz")
    return Group(server, [server])


NGINX_TEMPS = "\n".join(f"  {kind}_temp_path {{prefix}}/{kind};" for kind in
                        ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))


def nginx_server(name, http_block, workers):
    prefix = os.path.join(WORK, "nginx", f"{name}-{free_port()}")
    os.makedirs(prefix, exist_ok=True)
    port = free_port()
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf = (f"{user}worker_processes {workers};\nerror_log {prefix}/error.log warn;\npid {prefix}/nginx.pid;\n"
            f"events {{ worker_connections 4096; }}\n"
            f"http {{\n  access_log off;\n{NGINX_TEMPS.format(prefix=prefix)}\n"
            + http_block.format(port=port) + "\n}\n")
    path = os.path.join(prefix, "nginx.conf")
    with open(path, "w") as handle:
        handle.write(conf)
    return Server(name, ["nginx", "-c", path, "-p", prefix, "-g", "daemon off;"], port)


# thumbor's AVIF (Pillow's own AVIF plugin, libavif + aom) at Rendition's default effort: libvips gives aom
# speed 9 - effort, so effort 2 is speed 7 (Pillow's default is 6).
THUMBOR_AVIF = {"AVIF_CODEC": "aom", "AVIF_SPEED": 9 - AVIF_DEFAULT_EFFORT}
# thumbor's own negotiation, for the `format: auto` row: AVIF when Accept names image/avif, at AVIF q60. Only
# AUTO_AVIF: thumbor 7.8 tries AUTO_WEBP first, so with both on Chrome's Accept gets WebP, not AVIF.
THUMBOR_AUTO = dict(THUMBOR_AVIF, AUTO_AVIF=True, AVIF_QUALITY=AVIF_DEFAULT_QUALITY)


def thumbor_group(originals, settings=None, name="thumbor"):
    """CORES single-process thumbors behind nginx least_conn (see /work/shared/benchmarking.md and docs/performance.md);
    `settings` adds configuration lines (THUMBOR_AVIF, THUMBOR_AUTO)."""
    conf = os.path.join(WORK, f"{name}.conf")
    extra = "".join(f"{key} = {value!r}\n" for key, value in (settings or {}).items())
    with open(conf, "w") as handle:
        handle.write(
            "LOADER = 'thumbor.loaders.file_loader'\n"
            f"FILE_LOADER_ROOT_PATH = {originals!r}\n"
            "STORAGE = 'thumbor.storages.no_storage'\n"
            "RESULT_STORAGE = None\n"
            "ALLOW_UNSAFE_URL = True\n"
            "RESPECT_ORIENTATION = True\n"
            "QUALITY = 80\n"
            "MAX_AGE = 0\n" + extra)
    thumbors = []
    for _ in range(CORES):
        port = free_port()
        thumbors.append(Server("thumbor", [os.path.join(VENV_BIN, "thumbor"), "-p", str(port), "-i", "127.0.0.1",
                                           "-c", conf, "-l", "warning"], port, ready_path="/healthcheck"))
    servers = "".join(f"    server 127.0.0.1:{t.port};\n" for t in thumbors)
    block = ("  upstream thumbor {{\n    least_conn;\n" + servers.replace("{", "{{").replace("}", "}}")
             + "    keepalive 32;\n  }}\n"
             "  server {{\n    listen 127.0.0.1:{port};\n    location / {{\n      proxy_pass http://thumbor;\n"
             "      proxy_http_version 1.1;\n      proxy_set_header Connection \"\";\n"
             "      proxy_read_timeout 120s;\n    }}\n  }}")
    front = nginx_server("nginx-thumbor", block, 1)
    front.ready_path = "/healthcheck"
    return Group(front, thumbors)


def nginx_static(root):
    block = ("  server {{\n    listen 127.0.0.1:{port};\n    root " + root + ";\n"
             "    location / {{ types {{ }} default_type image/webp; }}\n  }}\n"
             "  sendfile on;\n  tcp_nopush on;\n  tcp_nodelay on;")
    server = nginx_server("nginx-static", block, "auto")
    return Group(server, [])


def start_group(group):
    # measured/others first (thumbors), then the front (nginx), which waits on its own readiness check
    for server in group.measured + group.others:
        if server is not group.front:
            server.start()
    group.front.start()
    return group


def fetch(port, path, accept=None):
    """GET, following redirects: (status, body, Content-Type)."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(request, timeout=120) as response:
        return response.status, response.read(), response.headers.get("Content-Type", "").split(";")[0].strip()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch_status(port, path, accept=None):
    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Accept": accept} if accept else {})
    try:
        with opener.open(request, timeout=300) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def wrk(port, prefix, suffix, count, connections, seconds, accept=None):
    threads = min(CORES, connections)
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s",
           "-s", os.path.join(HERE, "keys.lua"), f"http://127.0.0.1:{port}", "--", prefix, suffix, str(count),
           str(threads)] + ([accept] if accept else [])
    record(cmd)
    output = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    match = re.search(r"^WRKJSON (.*)$", output, re.M)
    if not match:
        raise RuntimeError(f"wrk printed no summary:\n{output}")
    result = json.loads(match.group(1))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["errors"] = sum(result[k] for k in ("connect", "read", "write", "status", "timeout"))
    return result


# ---------------------------------------------------------------------------------------------------------------
# Measurements


def step_cli(images, pipelines, out):
    """1. Whole process: `rendition run` vs `vipsthumbnail`, same image, same output; wall and peak RSS."""
    rows = []
    cases = [(name, "webp") for name in images] + [("5120x2880", "jpeg")]
    for name, fmt in cases:
        image = images[name]
        preset = "thumb400" if fmt == "webp" else "thumb400-jpeg"
        ours = [os.path.join(BIN, "rendition"), "run", preset, image, "-o", os.path.join(out, f"r-{name}.{fmt}"),
                "--pipelines", pipelines]
        options = "[Q=80,strip]" if fmt == "webp" else "[Q=80,optimize_coding,strip]"
        theirs = ["vipsthumbnail", image, "-s", "400x400", "-o", os.path.join(out, f"v-{name}.{fmt}") + options]
        timed(ours), timed(theirs)  # warm the page cache and the dynamic loader
        a, b = [], []
        for _ in range(CLI_ROUNDS):
            a.append(timed(ours))
            b.append(timed(theirs))
        rows.append({
            "image": name, "format": fmt,
            "wall": (median([x[0] for x in a]), median([x[0] for x in b])),
            "rss": (median([x[1] for x in a]), median([x[1] for x in b])),
            "cpu": (median([x[2] for x in a]), median([x[2] for x in b])),
            "wall_ratio": median([x[0] / y[0] for x, y in zip(a, b)]),
            "rss_ratio": median([x[1] for x in a]) / median([x[1] for x in b]),
        })
        log(f"1 cli {name} {fmt}: wall ratio {rows[-1]['wall_ratio']:.2f}, rss ratio {rows[-1]['rss_ratio']:.2f}, "
            f"cpu {rows[-1]['cpu'][0] * 1e3:.0f} vs {rows[-1]['cpu'][1] * 1e3:.0f} ms")
    return rows


def json_lines(cmd, env=None):
    record(cmd)
    output = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def step_inprocess(images, pipelines, quality_dir):
    """2. One thread, in process: Rendition's Renderer vs a bare pyvips thumbnail + save loop; CPU per image.
    Then the shipped `product` and `press` presets vs the same libvips operations in pyvips, at the plan's shrink."""
    env = dict(os.environ, VIPS_CONCURRENCY="1")
    rows = {}
    for name, image in images.items():
        ours_cpu, theirs_cpu, ratios, shrink = [], [], [], None
        for round_index in range(INPROC_ROUNDS):
            # the first round keeps its last output of each for the quality table
            save_ours = ["--save-dir", os.path.join(quality_dir, "engine")] if round_index == 0 else []
            save_theirs = ["--save-dir", os.path.join(quality_dir, "pyvips")] if round_index == 0 else []
            ours = json_lines([os.path.join(BIN, "rendition-bench"), os.path.join(pipelines, "thumb400.yaml"), image,
                               "--iterations", str(INPROC_ITERATIONS), "--warmup", "1"] + save_ours, env=env)[0]
            theirs = json_lines([PYTHON, os.path.join(HERE, "vips_loop.py"), image, "--iterations",
                                 str(INPROC_ITERATIONS), "--warmup", "1"] + save_theirs, env=env)[0]
            ours_cpu.append(ours["cpu_per_image"])
            theirs_cpu.append(theirs["cpu_per_image"])
            ratios.append(ours["cpu_per_image"] / theirs["cpu_per_image"])
            shrink = ours["shrink_on_load"]
        rows[name] = {"ours": median(ours_cpu), "theirs": median(theirs_cpu), "ratio": median(ratios),
                      "shrink": shrink, "limit_rps": CORES / median(theirs_cpu)}
        log(f"2 in-process {name}: {rows[name]['ours'] * 1e3:.0f} ms vs {rows[name]['theirs'] * 1e3:.0f} ms CPU, "
            f"ratio {rows[name]['ratio']:.2f}, shrink-on-load {shrink}")
    return rows


def step_presets(images):
    """2b. The shipped product and press presets in process vs the same operations in bare pyvips, interleaved."""
    env = dict(os.environ, VIPS_CONCURRENCY="1")
    rows = []
    for preset in ("product", "press"):
        for name, image in images.items():
            ours_cpu, theirs_cpu, ratios, shrink = [], [], [], None
            for _ in range(INPROC_ROUNDS):
                ours = json_lines([os.path.join(BIN, "rendition-bench"), os.path.join(ROOT, "pipelines", f"{preset}.yaml"),
                                   image, "--iterations", str(INPROC_ITERATIONS), "--warmup", "1"], env=env)[0]
                shrink = ours["shrink_on_load"]
                theirs = json_lines([PYTHON, os.path.join(HERE, "vips_loop.py"), image, "--preset", preset, "--shrink",
                                     str(shrink), "--iterations", str(INPROC_ITERATIONS), "--warmup", "1"], env=env)[0]
                ours_cpu.append(ours["cpu_per_image"])
                theirs_cpu.append(theirs["cpu_per_image"])
                ratios.append(ours["cpu_per_image"] / theirs["cpu_per_image"])
            rows.append({"preset": preset, "image": name, "ours": median(ours_cpu), "theirs": median(theirs_cpu),
                         "ratio": median(ratios), "shrink": shrink})
            log(f"2 preset {preset} {name}: {rows[-1]['ours'] * 1e3:.0f} ms vs {rows[-1]['theirs'] * 1e3:.0f} ms CPU, "
                f"ratio {rows[-1]['ratio']:.2f}, shrink-on-load {shrink}")
    return rows


def step_shrink(images, quality_dir):
    """Evidence for tuning: CPU and SSIM of decoding at each JPEG shrink-on-load factor (pyvips, one thread)."""
    env = dict(os.environ, VIPS_CONCURRENCY="1")
    rows = {}
    for name, image in images.items():
        width, height = (int(v) for v in name.split("x"))
        scale = min(400 / width, 400 / height)
        out_w, out_h = round(width * scale), round(height * scale)
        factors = [k for k in (2, 4, 8) if width // k >= out_w and height // k >= out_h]
        cpu = {k: [] for k in factors}
        for round_index in range(INPROC_ROUNDS):
            for k in factors:
                save = ["--save-dir", os.path.join(quality_dir, "pyvips")] if round_index == 0 else []
                line = json_lines([PYTHON, os.path.join(HERE, "vips_loop.py"), image, "--shrink", str(k),
                                   "--iterations", str(INPROC_ITERATIONS), "--warmup", "1"] + save, env=env)[0]
                cpu[k].append(line["cpu_per_image"])
        rows[name] = {k: median(v) for k, v in cpu.items()}
        for k in factors + [0]:  # lossless copies: the quality each factor costs, without WebP's own loss
            json_lines([PYTHON, os.path.join(HERE, "vips_loop.py"), image, "--shrink", str(k), "--format", "png",
                        "--iterations", "1", "--warmup", "0", "--save-dir", os.path.join(quality_dir, "pyvips")],
                       env=env)
        log(f"   shrink-on-load {name}: " + ", ".join(f"x{k} {v * 1e3:.0f} ms" for k, v in rows[name].items()))
    return rows


STORE_NUMBERS = iter(range(1, 1_000_000))


def rendition_peer(pipelines, originals, preset, name, accept=None):
    """Rendition asked for PRESET's render route; the quality copy is read from where the 301 points."""
    def make():
        store = os.path.join(WORK, "stores", f"http-{next(STORE_NUMBERS)}")
        return rendition_server(pipelines, originals, store), f"/_render/{preset}/c/{name}/", accept
    return make


def thumbor_peer(originals, options, name, settings=None, conf="thumbor", accept=None):
    """thumbor x CORES asked for /unsafe/fit-in/400x400/OPTIONS/c/NAME/KEY (OPTIONS such as filters:...)."""
    path = "/unsafe/fit-in/400x400/" + (options + "/" if options else "")
    return lambda: (thumbor_group(originals, settings, conf), f"{path}c/{name}/", accept)


def http_measure(group, prefix, connections, accept=None, save_to=None):
    """One wrk run on a fresh server: two warm-up renders outside the measured keys (the first kept as the
    quality copy when `save_to` is given: that path plus the extension of the Content-Type it came with), then
    wrk; adds the server's CPU per request, peak RSS and the Content-Type of the warm-up."""
    start_group(group)
    try:
        for key in ("w0", "w1"):
            status = fetch_status(group.port, f"{prefix}{key}.jpg", accept)
            if status not in (200, 301):
                raise RuntimeError(f"{group.front.name} answered {status} for {prefix}{key}.jpg")
        # a render route's 301 is followed to the stored rendition; thumbor answers with the image itself
        _, body, media_type = fetch(group.port, f"{prefix}w0.jpg", accept)
        if save_to:
            with open(f"{save_to}.{media_type.rpartition('/')[2]}", "wb") as handle:
                handle.write(body)
        cpu_before = group.cpu_seconds()
        result = wrk(group.port, prefix, ".jpg", KEY_COPIES, connections, WRK_SECONDS, accept)
        result["cpu_ms"] = (group.cpu_seconds() - cpu_before) * 1e3 / max(1, result["requests"])
        result["peak_kb"] = group.peak_kb()
    finally:
        group.stop()
    result["media_type"], result["body_bytes"] = media_type, len(body)
    if result["requests"] > KEY_COPIES:
        result["note"] = "more requests than keys: some were not renders"
    return result


def http_interleaved(label, peers, connections, save=None):
    """HTTP_ROUNDS rounds of one wrk run per peer, in turn (A B A B ...). `peers` maps a kind to a function
    returning (group, prefix, accept); `save(kind)` names the first round's quality copy (no extension), or None."""
    per = {kind: [] for kind in peers}
    for round_index in range(HTTP_ROUNDS):
        for kind, make in peers.items():
            group, prefix, accept = make()
            save_to = save(kind) if save and round_index == 0 else None
            result = http_measure(group, prefix, connections, accept, save_to)
            per[kind].append(result)
            log(f"{label} c={connections} {kind}: {result['rps']:.1f} req/s, "
                f"p50 {result['p50_us'] / 1e3:.0f} ms, p99 {result['p99_us'] / 1e3:.0f} ms, "
                f"peak {result['peak_kb'] / 1024:.0f} MB, {result['cpu_ms']:.0f} ms CPU per request, "
                f"errors {result['errors']}, {result['media_type']} {result['body_bytes']} bytes")
    return per


def http_summary(runs):
    return {
        "rps": median([r["rps"] for r in runs]), "p50": median([r["p50_us"] for r in runs]) / 1e3,
        "p99": median([r["p99_us"] for r in runs]) / 1e3, "peak_mb": max(r["peak_kb"] for r in runs) / 1024,
        "errors": sum(r["errors"] for r in runs), "cpu_ms": median([r["cpu_ms"] for r in runs]),
        "notes": sorted({r.get("note", "") for r in runs} - {""}),
        "media_type": runs[0]["media_type"], "bytes": runs[0]["body_bytes"],
    }


def speed_ratio(per, ours, theirs):
    """Median over rounds of ours' req/s ÷ theirs' in the same round."""
    return median([a["rps"] / b["rps"] for a, b in zip(per[ours], per[theirs])])


def step_http(images, pipelines, originals, quality_dir, extra=()):
    """3. Render throughput over HTTP, a fresh key per request: Rendition vs thumbor x CORES behind nginx.
    `extra` names issue 17's derived inputs, measured at c = 8 only."""
    cases = []
    for name in images:
        for connections in (2, 8):
            if connections == 2 and (name in extra or (QUICK and name != "5120x2880")):
                continue
            cases.append((name, "webp", connections))
    if "5120x2880" in images:
        cases.append(("5120x2880", "jpeg", 8))
    results = []
    for name, fmt, connections in cases:
        preset = "thumb400" if fmt == "webp" else "thumb400-jpeg"
        peers = {"rendition": rendition_peer(pipelines, originals, preset, name),
                 "thumbor": thumbor_peer(originals, f"filters:format({fmt}):quality(80)", name)}
        save = (lambda kind: os.path.join(quality_dir, "http", f"{kind}-{name}")) if connections == 8 else None
        per = http_interleaved(f"3 http {name} {fmt}", peers, connections, save)
        summary = {"image": name, "format": fmt, "connections": connections}
        summary.update({kind: http_summary(runs) for kind, runs in per.items()})
        summary["ratio"] = speed_ratio(per, "rendition", "thumbor")
        results.append(summary)
    return results


def step_hits(pipelines, originals):
    """4. Origin hits: `rendition serve` answering a stored rendition vs nginx sending the same file."""
    store = os.path.join(WORK, "stores", "hits")
    shutil.rmtree(store, ignore_errors=True)
    group = start_group(rendition_server(pipelines, originals, store))
    try:
        status = fetch_status(group.port, "/_render/thumb400/c/2560x1600/w0.jpg")
        if status != 301:
            raise RuntimeError(f"render for the hit test answered {status}")
    finally:
        group.stop()
    if not os.path.isfile(os.path.join(store, "thumb400/c/2560x1600/w0.jpg")):
        raise RuntimeError("the folder store did not keep the rendition at thumb400/c/2560x1600/w0.jpg")
    ours, theirs = [], []
    for _ in range(HIT_ROUNDS):
        for kind, bucket in (("rendition", ours), ("nginx", theirs)):
            group = rendition_server(pipelines, originals, store) if kind == "rendition" else nginx_static(store)
            start_group(group)
            try:
                # key count 1: every request asks for /thumb400/c/2560x1600/w0.jpg
                bucket.append(wrk(group.port, "/thumb400/c/2560x1600/w", ".jpg", 1, 8, HIT_SECONDS))
            finally:
                group.stop()
            log(f"4 hits {kind}: {bucket[-1]['rps']:.0f} req/s, errors {bucket[-1]['errors']}")
            if bucket[-1]["errors"]:
                raise RuntimeError(f"{kind} answered {bucket[-1]['errors']} hit requests with an error")
    return {"ours": median([r["rps"] for r in ours]), "theirs": median([r["rps"] for r in theirs]),
            "ratio": median([a["rps"] / b["rps"] for a, b in zip(ours, theirs)]),
            "errors": sum(r["errors"] for r in ours + theirs), "p99": median([r["p99_us"] for r in ours]) / 1e3}


def step_stress(pipelines, originals):
    """5. Eight concurrent renders of the 48 MP JPEG, repeated: peak RSS (VmHWM) of the server after each round."""
    results = {}
    for kind in ("rendition", "thumbor"):
        shutil.rmtree(os.path.join(WORK, "stores", "stress"), ignore_errors=True)
        group = (rendition_server(pipelines, originals, os.path.join(WORK, "stores", "stress"))
                 if kind == "rendition" else thumbor_group(originals))
        start_group(group)
        peaks, rss, statuses = [], [], []
        try:
            for round_index in range(STRESS_ROUNDS):
                def one(n):
                    key = f"c/8000x6000/{round_index * 8 + n}.jpg"
                    path = (f"/_render/thumb400/{key}" if kind == "rendition"
                            else f"/unsafe/fit-in/400x400/filters:format(webp):quality(80)/{key}")
                    statuses.append(fetch_status(group.port, path))
                workers = [threading.Thread(target=one, args=(n,)) for n in range(8)]
                for worker in workers:
                    worker.start()
                for worker in workers:
                    worker.join()
                time.sleep(0.5)
                peaks.append(group.peak_kb() / 1024)
                rss.append(group.rss_kb() / 1024)
        finally:
            group.stop()
        results[kind] = {"peaks": peaks, "rss": rss, "bad": [s for s in statuses if s not in (200, 301)]}
        log(f"5 stress {kind}: peak per round {[round(p) for p in peaks]} MB, after {[round(r) for r in rss]} MB")
    return results


class RuntimePeer(BaseHTTPRequestHandler):
    """The Lambda Runtime API, enough of it for one invocation: next -> one event, then response/error."""

    event = b""
    answered = None  # (monotonic time, status line of the function's answer)
    served = False

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path.endswith("/invocation/next"):
            if RuntimePeer.served:  # a second poll: the measurement is over and the process is being killed
                self.send_response(410)
                self.end_headers()
                return
            RuntimePeer.served = True
            self.send_response(200)
            self.send_header("Lambda-Runtime-Aws-Request-Id", "bench-1")
            self.send_header("Lambda-Runtime-Deadline-Ms", str(int((time.time() + 30) * 1000)))
            self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:r")
            self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0")
            self.send_header("Content-Length", str(len(RuntimePeer.event)))
            self.end_headers()
            self.wfile.write(RuntimePeer.event)
        else:
            self.send_response(404)
            self.end_headers()

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if "/response" in self.path or "/error" in self.path:
            RuntimePeer.answered = (time.monotonic(), self.path.rsplit("/", 1)[1], body[:300])
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()


LAMBDA_ZIP = os.path.join(ROOT, ".build", "lambda", "rendition-lambda.zip")


def step_cold(pipelines, originals):
    """6. Cold start: exec of `bootstrap` -> its answer to one API Gateway v2 render event. The release
    `bootstrap` (Swift runtime linked dynamically) and, when `make lambda` has built it, the unpacked Lambda
    package (static Swift runtime, bundled loader and libraries), interleaved run by run."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), RuntimePeer)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    variants = {"release": [os.path.join(BIN, "bootstrap")]}
    if os.path.isfile(LAMBDA_ZIP):
        unpacked = os.path.join(WORK, "lambda-package")
        shutil.rmtree(unpacked, ignore_errors=True)
        run(["unzip", "-q", LAMBDA_ZIP, "-d", unpacked])
        variants["package"] = [os.path.join(unpacked, "bootstrap")]
    else:
        log("6 cold start: no .build/lambda/rendition-lambda.zip (make lambda builds it); measuring the release binary only")
    times = {name: [] for name in variants}
    bad = []
    for run_index in range(COLD_RUNS + 1):  # the first run warms the page cache and is not counted
        for name, cmd in variants.items():
            key = f"c/2560x1600/{run_index}.jpg"
            event = {
                "version": "2.0", "routeKey": "$default", "rawPath": f"/_render/thumb400/{key}", "rawQueryString": "",
                "headers": {"accept": "image/webp,*/*", "host": "abc.lambda-url.us-east-1.on.aws"},
                "requestContext": {"http": {"method": "GET", "path": f"/_render/thumb400/{key}",
                                            "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1", "userAgent": "bench"},
                                   "requestId": f"bench-{run_index}", "routeKey": "$default", "stage": "$default",
                                   "timeEpoch": 1795000000000},
                "isBase64Encoded": False,
            }
            RuntimePeer.event, RuntimePeer.answered, RuntimePeer.served = json.dumps(event).encode(), None, False
            store = os.path.join(WORK, "stores", f"cold-{name}-{run_index}")
            shutil.rmtree(store, ignore_errors=True)
            env = {"PATH": "/usr/bin:/bin", "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
                   "RENDITION_PIPELINES": pipelines, "RENDITION_SOURCE_PATH": originals,
                   "RENDITION_RENDITIONS_PATH": store, "RENDITION_LOG_LEVEL": "warning",
                   "AWS_LAMBDA_FUNCTION_NAME": "rendition", "AWS_REGION": "us-east-1"}
            record(cmd)
            start = time.monotonic()
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            while RuntimePeer.answered is None and proc.poll() is None and time.monotonic() - start < 60:
                time.sleep(0.001)
            answered = RuntimePeer.answered
            proc.kill()
            proc.wait()
            if answered is None:
                raise RuntimeError(f"{name} bootstrap gave no answer (exit {proc.returncode})")
            if answered[1] != "response" or b'"statusCode":301' not in answered[2].replace(b" ", b""):
                bad.append(answered[2][:200])
            if run_index > 0:
                times[name].append(answered[0] - start)
    server.shutdown()
    result = {"bad": bad}
    for name, values in times.items():
        result[name] = {"median_ms": median(values) * 1e3, "min_ms": min(values) * 1e3, "max_ms": max(values) * 1e3}
        log(f"6 cold start {name}: median {result[name]['median_ms']:.0f} ms "
            f"(min {result[name]['min_ms']:.0f}, max {result[name]['max_ms']:.0f})")
    return result


def step_batch(files, pipelines):
    """7. Batch: `rendition run thumb400 <200 files> --out-dir` vs `xargs -P<cores> vipsthumbnail`."""
    folder = os.path.join(WORK, "batch", "in")
    if not os.path.isdir(folder):
        os.makedirs(folder)
        for n in range(BATCH_FILES):
            os.link(files[n % len(files)], os.path.join(folder, f"{n:03d}.jpg"))
    inputs = sorted(os.path.join(folder, f) for f in os.listdir(folder))
    out_ours, out_theirs = os.path.join(WORK, "batch", "rendition"), os.path.join(WORK, "batch", "vips")
    list_file = os.path.join(WORK, "batch", "files.txt")
    with open(list_file, "w") as handle:
        handle.write("\n".join(inputs) + "\n")
    ours = [os.path.join(BIN, "rendition"), "run", "thumb400", *inputs, "--out-dir", out_ours,
            "--pipelines", pipelines]
    # -n 10: ten files per vipsthumbnail process, so process start-up is not what is measured
    theirs = ["sh", "-c", f"xargs -P{CORES} -n 10 vipsthumbnail -s 400x400 -o '{out_theirs}/%s.webp[Q=80,strip]' "
              f"< '{list_file}'"]
    a, b = [], []
    for _ in range(BATCH_ROUNDS):
        for cmd, bucket, out in ((ours, a, out_ours), (theirs, b, out_theirs)):
            shutil.rmtree(out, ignore_errors=True)
            os.makedirs(out)
            bucket.append(timed(cmd)[0])
            made = len(os.listdir(out))
            if made != BATCH_FILES:
                raise RuntimeError(f"batch wrote {made} files into {out}, not {BATCH_FILES}")
    result = {"ours": median(a), "theirs": median(b), "ratio": median([y / x for x, y in zip(a, b)])}
    log(f"7 batch: {result['ours']:.1f} s vs {result['theirs']:.1f} s, speed ratio {result['ratio']:.2f}")
    return result


# ---------------------------------------------------------------------------------------------------------------
# Output formats (issue 14)

FORMAT_NAMES = {"jpeg": "JPEG", "webp": "WebP", "avif": "AVIF"}


def format_configs():
    """(format, AVIF effort or None) of every encoder compared: JPEG, WebP, then AVIF at each effort."""
    return [("jpeg", None), ("webp", None)] + [("avif", effort) for effort in AVIF_EFFORTS]


def config_label(config):
    fmt, effort = config
    if effort is None:
        return FORMAT_NAMES[fmt]
    return f"AVIF effort {effort}" + {AVIF_DEFAULT_EFFORT: " (Rendition's default)", 4: " (libvips' default)"}.get(
        effort, "")


class FormatSweep:
    """400 px renditions of the benchmark images made by `rendition run`, one generated preset per format and
    quality, each scored once: mean SSIM (against the same reference as the quality table) and mean bytes."""

    def __init__(self, images):
        self.images, self.ssim, self.scores = images, Ssim(), {}
        self.folder = os.path.join(WORK, "formats")
        self.pipelines = os.path.join(self.folder, "pipelines")
        shutil.rmtree(self.folder, ignore_errors=True)

    def preset(self, config, quality):
        fmt, effort = config
        if fmt == "png":  # quality is the zlib level here
            name, encode = f"fmt-png-c{quality}", f"{{format: png, compression: {quality}}}"
        elif effort is None:
            name, encode = f"fmt-{fmt}-q{quality}", f"{{format: {fmt}, quality: {quality}}}"
        else:
            name, encode = f"fmt-{fmt}-e{effort}-q{quality}", f"{{format: {fmt}, quality: {quality}, effort: {effort}}}"
        if not os.path.isfile(os.path.join(self.pipelines, f"{name}.yaml")):
            write_preset(self.pipelines, name, encode, issue=14)
        return name

    def render(self, config, quality=None):
        """The renditions of every image with this encoder; returns their folder."""
        name = self.preset(config, quality)
        out = os.path.join(self.folder, "out", name)
        if not os.path.isdir(out):
            os.makedirs(out)
            run([os.path.join(BIN, "rendition"), "run", name, *self.images.values(), "--out-dir", out,
                 "--pipelines", self.pipelines], stdout=subprocess.DEVNULL)
        return out

    def score(self, config, quality):
        key = (config, quality)
        if key not in self.scores:
            out = self.render(config, quality)
            per = {}
            for name, original in self.images.items():
                stem = os.path.splitext(os.path.basename(original))[0]
                path = os.path.join(out, f"{stem}.{'jpg' if config[0] == 'jpeg' else config[0]}")
                per[name] = {"ssim": self.ssim.score(original, path)[0], "bytes": os.path.getsize(path)}
            self.scores[key] = {"ssim": statistics.fmean(p["ssim"] for p in per.values()),
                                "bytes": statistics.fmean(p["bytes"] for p in per.values()), "per": per}
        return self.scores[key]

    def lowest_reaching(self, config, target):
        """The lowest quality whose mean SSIM reaches `target`: the first swept quality that does, then each unit
        below it down to the previous swept one. None if no swept quality reaches it."""
        sweep = FORMAT_SWEEP[config[0]]
        reaching = [q for q in sweep if self.score(config, q)["ssim"] >= target]
        if not reaching:
            return None
        best = reaching[0]
        below = [q for q in sweep if q < best]
        for quality in range(below[-1] + 1 if below else best, best):
            if self.score(config, quality)["ssim"] >= target:
                return quality
        return best


def step_formats(images):
    """8. JPEG, WebP and AVIF at equal SSIM: the quality each format needs to reach WebP q80's (and JPEG q80's)
    mean SSIM on the benchmark images, what it weighs, and its encode CPU per image.

    Renditions come from `rendition run` with generated presets (orient, fit inside 400x400, encode). Encode CPU
    is measured in process (`rendition-bench`, one libvips thread) on 400 px lossless PNGs of the same
    renditions, so there is no large decode or resize: the encoder plus a floor (the PNG's decode and the
    engine), which is measured beside it as PNG in, uncompressed PNG out. The CPU runs are interleaved, and each is also given as a ratio to WebP q80 in the
    same round."""
    sweep = FormatSweep(images)
    for config in format_configs():
        for quality in FORMAT_SWEEP[config[0]]:
            sweep.score(config, quality)
        log(f"8 formats {config_label(config)}: " + ", ".join(
            f"q{q} {sweep.score(config, q)['ssim']:.4f}/{sweep.score(config, q)['bytes'] / 1024:.1f} KB"
            for q in FORMAT_SWEEP[config[0]]))
    targets = {"WebP q80": sweep.score(("webp", None), 80)["ssim"], "JPEG q80": sweep.score(("jpeg", None), 80)["ssim"]}
    matches = {}
    for target_name, target in targets.items():
        matches[target_name] = {config: sweep.lowest_reaching(config, target) for config in format_configs()}
        log(f"8 formats, lowest quality reaching {target_name}'s SSIM {target:.4f}: " + ", ".join(
            f"{config_label(c)} q{q}" for c, q in matches[target_name].items()))

    # Encode CPU: every matched (format, quality), the AVIF defaults, and the floor, on the 400 px PNGs
    lossless = sweep.render(("png", None), 1)
    pngs = [os.path.join(lossless, f"{os.path.splitext(os.path.basename(p))[0]}.png") for p in images.values()]
    measured = [(("webp", None), 80), (("jpeg", None), 80)]
    for found in matches.values():
        measured += [(config, quality) for config, quality in found.items() if quality is not None]
    measured += [(("avif", effort), AVIF_DEFAULT_QUALITY) for effort in AVIF_EFFORTS]
    measured = list(dict.fromkeys(measured)) + [(("png", None), 0)]  # the floor: PNG in, stored PNG out
    env = dict(os.environ, VIPS_CONCURRENCY="1")
    cpu = {key: [] for key in measured}
    ratios = {key: [] for key in measured}
    for _ in range(FORMAT_CPU_ROUNDS):
        this_round = {}
        for key in measured:
            config, quality = key
            lines = json_lines([os.path.join(BIN, "rendition-bench"),
                                os.path.join(sweep.pipelines, f"{sweep.preset(config, quality)}.yaml"), *pngs,
                                "--iterations", str(FORMAT_CPU_ITERATIONS), "--warmup", "1"], env=env)
            this_round[key] = statistics.fmean(line["cpu_per_image"] for line in lines)
            cpu[key].append(this_round[key])
        for key in measured:
            ratios[key].append(this_round[key] / this_round[(("webp", None), 80)])
    cpu_rows = {key: {"cpu": median(cpu[key]), "ratio": median(ratios[key])} for key in measured}
    for (config, quality), row in cpu_rows.items():
        log(f"8 formats encode CPU {config_label(config) + f' q{quality}' if config[0] != 'png' else 'floor'}: "
            f"{row['cpu'] * 1e3:.1f} ms per image, "
            f"{row['ratio']:.2f} x WebP q80")
    return {"targets": targets, "matches": matches, "scores": sweep.scores, "cpu": cpu_rows,
            "images": list(images)}


def step_avif_http(pipelines, originals, quality_dir):
    """9. AVIF encode per rendition over HTTP at Rendition's default (q60, effort 2) vs thumbor's AVIF for the same
    request (fit-in 400x400, format(avif), quality(60), Pillow's AVIF at libaom speed 7, which is what libvips
    gives effort 2), interleaved with each one's WebP q80 of the same image, so AVIF's cost over WebP is read
    from the same run on both sides."""
    names = ["5120x2880"] if QUICK else ["5120x2880", "2560x1600"]
    results = []
    for name in names:
        peers = {
            "rendition": rendition_peer(pipelines, originals, "thumb400-avif", name),
            "thumbor": thumbor_peer(originals, f"filters:format(avif):quality({AVIF_DEFAULT_QUALITY})", name,
                                    THUMBOR_AVIF, "thumbor-avif"),
            "rendition-webp": rendition_peer(pipelines, originals, "thumb400", name),
            "thumbor-webp": thumbor_peer(originals, "filters:format(webp):quality(80)", name),
        }
        save = lambda kind: (os.path.join(quality_dir, "http", f"{kind}-{name}")
                             if kind in ("rendition", "thumbor") else None)
        per = http_interleaved(f"9 avif http {name}", peers, 2, save)
        summary = {"image": name, "connections": 2}
        summary.update({kind: http_summary(runs) for kind, runs in per.items()})
        thumbor_avif = summary["thumbor"]["media_type"] == "image/avif"
        summary["thumbor_avif"] = thumbor_avif
        summary["ratio"] = speed_ratio(per, "rendition", "thumbor") if thumbor_avif else None
        summary["webp_ratio"] = speed_ratio(per, "rendition-webp", "thumbor-webp")
        results.append(summary)
    return results


def step_auto_http(pipelines, originals, quality_dir):
    """10. Render throughput of a `format: auto` preset (default candidates avif, webp, jpeg) asked with Chrome's
    Accept, like row 3 (c = 8, a fresh key per request), against thumbor's own negotiation (AUTO_AVIF, AVIF q60,
    same speed) with the same Accept, and against Rendition's WebP preset in the same run."""
    names = ["5120x2880"] if QUICK else ["5120x2880", "2560x1600", "8000x6000"]
    results = []
    for name in names:
        peers = {
            "rendition": rendition_peer(pipelines, originals, "thumb400-auto", name, CHROME_ACCEPT),
            "thumbor": thumbor_peer(originals, "", name, THUMBOR_AUTO, "thumbor-auto", CHROME_ACCEPT),
            "rendition-webp": rendition_peer(pipelines, originals, "thumb400", name),
        }
        save = lambda kind: (os.path.join(quality_dir, "http", f"{kind}-auto-{name}")
                             if kind in ("rendition", "thumbor") else None)
        per = http_interleaved(f"10 auto http {name}", peers, 8, save)
        summary = {"image": name, "connections": 8}
        summary.update({kind: http_summary(runs) for kind, runs in per.items()})
        summary["ratio"] = speed_ratio(per, "rendition", "thumbor")
        summary["webp_ratio"] = speed_ratio(per, "rendition", "rendition-webp")
        results.append(summary)
    return results


# ---------------------------------------------------------------------------------------------------------------
# Issue 17: CPU per phase, every preset of one original, WebP settings


def plan_json(preset, image, pipelines):
    """`rendition plan PRESET --input IMAGE --json` (one render), parsed, with its exit status under "_exit"
    (1 when a limit would trip; the JSON still says which)."""
    cmd = [os.path.join(BIN, "rendition"), "plan", preset, "--input", image, "--json", "--pipelines", pipelines]
    record(cmd)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        raise RuntimeError(f"{shlex.join(cmd)} printed no JSON (exit {proc.returncode}): "
                           f"{(proc.stderr or proc.stdout).strip()[:200]}") from None
    data["_exit"] = proc.returncode
    return data


PHASES_MISSING = ('`rendition plan --json` has no "phases" key (issue 17: an array of {"name": String, '
                  '"cpuMilliseconds": Double} for one render); Rendition\'s column is empty until it has')


def plan_phases(data):
    """The plan's "phases" (top level, or under "output"), summed by name in their order; None if absent."""
    phases = data.get("phases", (data.get("output") or {}).get("phases"))
    if phases is None:
        return None
    if not isinstance(phases, list) or not all(
            isinstance(p, dict) and isinstance(p.get("name"), str) and isinstance(p.get("cpuMilliseconds"), (int, float))
            for p in phases):
        raise RuntimeError('`rendition plan --json`\'s "phases" is not an array of {"name": String, '
                           f'"cpuMilliseconds": Double}}: {json.dumps(phases)[:200]}')
    summed = {}
    for phase in phases:
        summed[phase["name"]] = summed.get(phase["name"], 0.0) + phase["cpuMilliseconds"]
    return summed


def step_phases(images, pipelines):
    """11. CPU per phase of one thumb400 render (issue 17): `rendition plan thumb400 --input IMAGE --json`'s
    "phases", PHASE_RUNS runs (one render per process), median per phase; beside it the same render in pyvips
    (decode at the plan's shrink-on-load, lanczos3, WebP q80 effort 4) and in Pillow as thumbor uses it (draft to
    the same scale, LANCZOS, WebP quality 80 method 4), each phase on the process CPU clock, medians
    (benchmarks/phases.py)."""
    env = dict(os.environ, VIPS_CONCURRENCY="1")
    rows, missing = {}, None
    for name, image in images.items():
        plans = [plan_json("thumb400", image, pipelines) for _ in range(PHASE_RUNS)]
        shrink = plans[0]["input"]["shrinkOnLoad"]
        ours = None
        found = [plan_phases(plan) for plan in plans]
        if any(f is None for f in found):
            missing = PHASES_MISSING
        else:
            ours = {}
            for phases in found:
                for phase, value in phases.items():
                    ours.setdefault(phase, []).append(value)
            ours = {phase: median(values) for phase, values in ours.items()}
        references = {}
        for engine in ("vips", "pillow"):
            references[engine] = json_lines([PYTHON, os.path.join(HERE, "phases.py"), engine, image, "--shrink",
                                             str(shrink), "--iterations", str(PHASE_ITERATIONS)], env=env)[0]
        rows[name] = {"shrink": shrink, "rendition": ours, **references,
                      "plan_total_ms": median([p["output"]["totalMilliseconds"] for p in plans])}
        summary = lambda phases: ", ".join(f"{k} {v:.1f}" for k, v in phases.items())
        log(f"11 phases {name} (shrink-on-load x{shrink}): Rendition "
            f"{summary(ours) if ours else 'no phases key'}; pyvips "
            f"{summary({p['name']: p['cpuMilliseconds'] for p in references['vips']['phases']})}; Pillow "
            f"{summary({p['name']: p['cpuMilliseconds'] for p in references['pillow']['phases']})} ms")
    if missing:
        log(f"11 phases: {missing}")
    return {"rows": rows, "error": missing,
            "versions": {e: next(iter(rows.values()))[e]["version"] for e in ("vips", "pillow")} if rows else {}}


def shipped_presets():
    folder = os.path.join(ROOT, "pipelines")
    return sorted(os.path.splitext(f)[0] for f in os.listdir(folder) if f.endswith(".yaml"))


def render_request(port, path, accept):
    """GET a render route, following a 307 to another render route (a `format: auto` preset's form); the status
    that ends it (301 once stored, or an error)."""
    import http.client
    for _ in range(3):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        try:
            connection.request("GET", path, headers={"Accept": accept})
            response = connection.getresponse()
            response.read()
            location = response.getheader("Location") or ""
        finally:
            connection.close()
        if response.status == 307 and "/_render/" in location:
            path = location[location.index("/_render/"):]
            continue
        return response.status
    return 508


def step_decode_once(images, originals):
    """12. Every shipped preset of one original at once (issue 17 item 3, measure first): a cold burst over
    HTTP against `rendition serve` with pipelines/ (every preset the plan lets render this original, requested
    concurrently with Chrome's Accept, a fresh key per burst), server CPU per original from /proc; then the
    pyvips estimate of decoding once (benchmarks/decode_once.py): each preset separately vs one decode at the
    smallest shrink any preset needs, CPU per original both ways, ratio, and SSIM of the shared way's outputs
    against each preset's own."""
    pipelines = os.path.join(ROOT, "pipelines")
    names = [n for n in images if not n.endswith("prog")]
    if QUICK:
        names = [n for n in names if n in ("5120x2880", CAMERA_NAME)] or names[:1]
    env = dict(os.environ, VIPS_CONCURRENCY="1")
    rows = []
    for name in names:
        image = images[name]
        shrinks, skipped = {}, {}
        for preset in shipped_presets():
            plan = plan_json(preset, image, pipelines)
            if plan["_exit"] != 0:
                skipped[preset] = "; ".join((plan.get("output") or {}).get("notes") or []) or "a limit trips"
                continue
            shrinks[preset] = plan["input"]["shrinkOnLoad"]
        store = os.path.join(WORK, "stores", f"presets-{name}")
        shutil.rmtree(store, ignore_errors=True)
        group = start_group(rendition_server(pipelines, originals, store))
        bursts = []
        try:
            for round_index in range(BURST_ROUNDS + 1):  # the first (key w2) warms the server and is not counted
                key = "w2" if round_index == 0 else str(round_index)
                statuses = {}
                def one(preset):
                    statuses[preset] = render_request(group.port, f"/_render/{preset}/c/{name}/{key}.jpg",
                                                      CHROME_ACCEPT)
                workers = [threading.Thread(target=one, args=(preset,)) for preset in shrinks]
                cpu_before, start = group.cpu_seconds(), time.monotonic()
                for worker in workers:
                    worker.start()
                for worker in workers:
                    worker.join()
                wall, cpu = time.monotonic() - start, group.cpu_seconds() - cpu_before
                bad = {p: s for p, s in statuses.items() if s not in (200, 301)}
                if bad:
                    raise RuntimeError(f"presets burst on {name} answered {bad}")
                if round_index:
                    bursts.append({"cpu": cpu, "wall": wall})
            peak = group.peak_kb()
        finally:
            group.stop()
        def estimate_for(chosen):
            return json_lines([PYTHON, os.path.join(HERE, "decode_once.py"), image, "--shrinks", json.dumps(chosen),
                               "--iterations", str(ONCE_ITERATIONS), "--rounds", str(ONCE_ROUNDS)], env=env)[0]
        estimate = estimate_for(shrinks)
        # the presets that decode full size (trim, the original's size) make the shared decode full size too; the
        # estimate again without them says what sharing is worth among the shrunk ones
        shrunk = {p: k for p, k in shrinks.items() if k > 1}
        row = {"image": name, "presets": list(shrinks), "shrinks": shrinks, "skipped": skipped,
               "http_cpu": median([b["cpu"] for b in bursts]), "http_wall": median([b["wall"] for b in bursts]),
               "peak_mb": peak / 1024, "estimate": estimate,
               "shrunk": estimate_for(shrunk) if 2 <= len(shrunk) < len(shrinks) else None}
        rows.append(row)
        log(f"12 presets {name}: {len(shrinks)} presets ({', '.join(f'{p} x{k}' for p, k in shrinks.items())}"
            f"{'; skipped ' + ', '.join(skipped) if skipped else ''}): server CPU {row['http_cpu'] * 1e3:.0f} ms "
            f"per original, burst wall {row['http_wall'] * 1e3:.0f} ms; pyvips separately "
            f"{estimate['separately'] * 1e3:.0f} ms, decoded once at x{estimate['shared_shrink']} "
            f"{estimate['once'] * 1e3:.0f} ms, ratio {estimate['ratio']:.2f}; SSIM "
            + ", ".join(f"{p} {v:.4f}" if v is not None else f"{p} (sizes differ)"
                        for p, v in estimate["ssim"].items())
            + (f"; without the x1 presets: {row['shrunk']['separately'] * 1e3:.0f} vs {row['shrunk']['once'] * 1e3:.0f} ms "
               f"(once at x{row['shrunk']['shared_shrink']}), ratio {row['shrunk']['ratio']:.2f}" if row["shrunk"] else ""))
    return rows


def step_webp(images, pipelines):
    """13. WebP settings at equal SSIM (issue 17 item 4; benchmarks/webp_parity.py): on each image's 400 px
    thumb400 pixels (decode at the plan's shrink, lanczos3), every setting swept over WEBP_SWEEP; for each, the
    lowest quality whose mean SSIM (against those pixels) reaches Rendition's default at q80, its bytes and its
    encode CPU (interleaved rounds, ratio to the default in the same round). Pillow as thumbor calls it, beside."""
    folder = os.path.join(WORK, "webp")
    shutil.rmtree(folder, ignore_errors=True)
    names = [n for n in images if not n.endswith("prog")]  # progressive twins decode to the same pixels
    specs = [f"{n}={images[n]}:{plan_json('thumb400', images[n], pipelines)['input']['shrinkOnLoad']}" for n in names]
    env = dict(os.environ, VIPS_CONCURRENCY="1")
    script = os.path.join(HERE, "webp_parity.py")
    run([PYTHON, script, "prepare", folder, *specs], env=env)
    qualities = f"{WEBP_SWEEP[0]}-{WEBP_SWEEP[-1]}"
    scores, alpha_same = {}, None
    for engine in ("vips", "pillow"):
        for line in json_lines([PYTHON, script, "sweep", engine, folder, "--qualities", qualities], env=env):
            if "alpha_q_identical" in line:
                alpha_same = line["alpha_q_identical"]
            else:
                scores[(engine, line["setting"], line["quality"])] = line
    target = scores[("vips", "default", 80)]["ssim"]
    settings = sorted({(e, s) for e, s, _ in scores}, key=lambda k: (k[0] != "vips", k[1] != "default", k[1]))
    matched = {}
    for engine, setting in settings:
        swept = sorted(q for e, s, q in scores if (e, s) == (engine, setting))
        reaching = [q for q in swept if scores[(engine, setting, q)]["ssim"] >= target]
        matched[(engine, setting)] = reaching[0] if reaching else None
    cpu = {key: [] for key, q in matched.items() if q is not None}
    ratios = {key: [] for key in cpu}
    for _ in range(WEBP_CPU_ROUNDS):
        this_round = {}
        for engine in ("vips", "pillow"):
            pairs = [[s, matched[(e, s)]] for e, s in cpu if e == engine]
            if engine == "vips":
                pairs.append(["default", 80])
            for line in json_lines([PYTHON, script, "cpu", engine, folder, "--settings", json.dumps(pairs),
                                    "--iterations", str(WEBP_CPU_ITERATIONS)], env=env):
                this_round[(engine, line["setting"], line["quality"])] = line["cpu_per_image"]
        base = this_round[("vips", "default", 80)]
        for (engine, setting) in cpu:
            value = this_round[(engine, setting, matched[(engine, setting)])]
            cpu[(engine, setting)].append(value)
            ratios[(engine, setting)].append(value / base)
    rows = []
    for (engine, setting), quality in matched.items():
        row = {"engine": engine, "setting": setting, "quality": quality}
        if quality is not None:
            score = scores[(engine, setting, quality)]
            row.update(ssim=score["ssim"], bytes=score["bytes"], cpu=median(cpu[(engine, setting)]),
                       cpu_ratio=median(ratios[(engine, setting)]))
            # a quality step moves SSIM in jumps: bytes at exactly the target, between the step below and this one
            below = [q for q in sorted(q for e, s, q in scores if (e, s) == (engine, setting)) if q < quality]
            row["bytes_at_target"] = score["bytes"]
            if below:
                low = scores[(engine, setting, below[-1])]
                if low["ssim"] < target < score["ssim"]:
                    t = (target - low["ssim"]) / (score["ssim"] - low["ssim"])
                    row["bytes_at_target"] = low["bytes"] + t * (score["bytes"] - low["bytes"])
        rows.append(row)
        log(f"13 webp {engine} {setting}: " + (
            f"q{quality} reaches SSIM {target:.4f} ({row['ssim']:.4f}), {row['bytes'] / 1024:.1f} KB, encode "
            f"{row['cpu'] * 1e3:.1f} ms ({row['cpu_ratio']:.2f} x default)" if quality is not None
            else f"no quality in {qualities} reaches SSIM {target:.4f}"))
    default = scores[("vips", "default", 80)]
    return {"target": target, "default_bytes": default["bytes"], "rows": rows, "alpha_q_identical": alpha_same,
            "images": names, "sweep": qualities,
            "q80": {f"{e} {s}": scores[(e, s, 80)] for e, s in settings if (e, s, 80) in scores}}


QUALITY_LABELS = {
    "engine": "Rendition engine, in process",
    "pyvips": "bare libvips `thumbnail` (pyvips)",
    "cli/r": "`rendition run` (CLI)",
    "cli/v": "`vipsthumbnail`",
    "http/rendition": "Rendition over HTTP",
    "http/thumbor": "thumbor over HTTP",
    "http/rendition-auto": "Rendition over HTTP, `format: auto`, Chrome's Accept",
    "http/thumbor-auto": "thumbor over HTTP, AUTO_AVIF, Chrome's Accept",
}


def quality_outputs(images, quality_dir):
    """(image name, label, shrink factor or None, path) of every rendition kept for the quality table."""
    found = []
    for folder in ("engine", "pyvips", "cli", "http"):
        directory = os.path.join(quality_dir, folder)
        for entry in sorted(os.listdir(directory)) if os.path.isdir(directory) else []:
            stem, extension = os.path.splitext(entry)
            for name in images:
                if stem == name:
                    found.append((name, QUALITY_LABELS[folder], None, os.path.join(directory, entry)))
                elif folder == "pyvips" and stem.startswith(name + "-s"):
                    k = int(stem.rsplit("-s", 1)[1])
                    found.append((name, f"libvips jpegload shrink ×{k} + lanczos3 (pyvips)", k,
                                  os.path.join(directory, entry)))
                elif stem.endswith("-" + name):
                    label = QUALITY_LABELS.get(f"{folder}/{stem[:-len(name) - 1]}", stem)
                    found.append((name, label, None, os.path.join(directory, entry)))
    return found


class Ssim:
    """SSIM against full-size decode + lanczos3 to the rendition's size (scikit-image, 1.0 = identical); each
    original is decoded once and each reference size resampled once."""

    def __init__(self):
        import numpy
        import pyvips
        from skimage.metrics import structural_similarity
        self.numpy, self.pyvips, self.structural_similarity = numpy, pyvips, structural_similarity
        self.full, self.references = {}, {}

    def array(self, image):
        image = image[:3] if image.bands > 3 else image
        return self.numpy.ndarray(buffer=image.write_to_memory(), dtype=self.numpy.uint8,
                                  shape=[image.height, image.width, image.bands])

    def score(self, original, path):
        """(SSIM, "WxH") of the rendition at `path` made from `original`."""
        out = self.pyvips.Image.new_from_file(path)
        size = (out.width, out.height)
        if (original, size) not in self.references:
            if original not in self.full:
                self.full = {original: self.pyvips.Image.new_from_file(original).autorot()}  # one at a time
            full = self.full[original]
            ref = full.resize(out.width / full.width, vscale=out.height / full.height, kernel="lanczos3")
            self.references[(original, size)] = self.array(ref)
        value = self.structural_similarity(self.references[(original, size)], self.array(out), channel_axis=2,
                                           data_range=255)
        return value, f"{size[0]}x{size[1]}"


def step_quality(images, quality_dir):
    """SSIM of each kept rendition against full-size decode + lanczos3 to the same size (scikit-image)."""
    ssim = Ssim()
    rows = []
    for name, original in images.items():
        for image_name, label, shrink, path in quality_outputs(images, quality_dir):
            if image_name != name:
                continue
            score, size = ssim.score(original, path)
            rows.append({"image": name, "label": label, "shrink": shrink, "format": os.path.splitext(path)[1][1:],
                         "size": size, "ssim": score})
    return rows


# ---------------------------------------------------------------------------------------------------------------
# Report


def version(cmd):
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        return (result.stdout + result.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "?"


def machine_line():
    cpu = "?"
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as handle:
        memory = int(handle.readline().split()[1]) / 1024 / 1024
    import pyvips
    thumbor = version([os.path.join(VENV_BIN, "thumbor"), "--version"])
    return (f"{platform.node()}: {platform.system()} {platform.release()} {platform.machine()}, {cpu}, {CORES} cores, "
            f"{memory:.0f} GiB; libvips {pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)} (libheif "
            f"{version(['pkg-config', '--modversion', 'libheif'])}, libaom {version(['pkg-config', '--modversion', 'aom'])}), "
            f"{version(['swift', '--version'])}, thumbor {thumbor} ({pillow_line()}), "
            f"{version(['wrk', '--version']).split(' [')[0]}, {version(['nginx', '-v'])}; Python {platform.python_version()}")


def pillow_line():
    """thumbor's imaging library, and whether (and with what) it writes AVIF."""
    try:
        import PIL
        from PIL import features
    except ImportError:
        return "no Pillow"
    if not features.check("avif"):
        return f"Pillow {PIL.__version__}, no AVIF"
    from PIL import _avif
    return f"Pillow {PIL.__version__}, AVIF: libavif {features.version('avif')}, {_avif.codec_versions()}"


def load_average():
    with open("/proc/loadavg") as handle:
        return " ".join(handle.read().split()[:3])


def verdict(ok):
    return "yes" if ok else "**no**"


def format_report(formats):
    """The formats-at-equal-SSIM section (measurement 8)."""
    lines = ["", "## Formats at equal SSIM (measurement 8)", ""]
    add = lines.append
    add(f"400 px renditions (orient, fit inside 400×400) of {', '.join(formats['images'])} by `rendition run` with "
        "generated presets; SSIM against full-size decode + lanczos3 to the same size (as the quality table), "
        "mean over the images; mean bytes per rendition. The quality is the lowest whose mean SSIM reaches the "
        f"target: swept in steps of 5, then by 1 below the first that does. Encode CPU: `rendition-bench`, one "
        f"libvips thread, {FORMAT_CPU_ITERATIONS} renders × {FORMAT_CPU_ROUNDS} interleaved rounds of the same "
        "renditions as 400 px PNGs, so it is the encoder's time plus a floor (decode of the PNG, the engine) "
        "shown in the last line; ratios to WebP q80 are per round, then the median.")
    cpu, scores = formats["cpu"], formats["scores"]
    webp80 = scores[(("webp", None), 80)]
    for target_name, target in formats["targets"].items():
        add("")
        add(f"Target: {target_name}'s mean SSIM, {target:.4f}.")
        add("")
        add("| format | quality | mean SSIM (per image) | mean bytes | bytes ÷ WebP q80 | encode CPU per image | "
            "CPU ÷ WebP q80 |")
        add("|---|---|---|---|---|---|---|")
        for config, quality in formats["matches"][target_name].items():
            if quality is None:
                add(f"| {config_label(config)} | none up to q{FORMAT_SWEEP[config[0]][-1]} | | | | | |")
                continue
            score, timing = scores[(config, quality)], cpu.get((config, quality))
            per = " / ".join(f"{p['ssim']:.4f}" for p in score["per"].values())
            timing_text = (f"{timing['cpu'] * 1e3:.1f} ms | {timing['ratio']:.2f}" if timing else " | ")
            add(f"| {config_label(config)} | {quality} | {score['ssim']:.4f} ({per}) | {score['bytes'] / 1024:.1f} KB | "
                f"{score['bytes'] / webp80['bytes']:.2f} | {timing_text} |")
    add("")
    for effort in AVIF_EFFORTS:
        key = (("avif", effort), AVIF_DEFAULT_QUALITY)
        score, timing = scores[key], cpu[key]
        add(f"- AVIF q{AVIF_DEFAULT_QUALITY} at effort {effort}: SSIM {score['ssim']:.4f} (WebP q80 "
            f"{webp80['ssim']:.4f}), {score['bytes'] / 1024:.1f} KB ({score['bytes'] / webp80['bytes']:.2f} × WebP "
            f"q80's {webp80['bytes'] / 1024:.1f} KB), encode {timing['cpu'] * 1e3:.1f} ms "
            f"({timing['ratio']:.2f} × WebP q80's {cpu[(('webp', None), 80)]['cpu'] * 1e3:.1f} ms).")
    matched = formats["matches"]["WebP q80"].get(("avif", AVIF_DEFAULT_EFFORT))
    verdict_text = ("confirmed" if matched == AVIF_DEFAULT_QUALITY else
                    f"**not confirmed: the lowest quality reaching it is {matched}**" if matched else
                    "**not confirmed: no swept quality reaches it**")
    add(f"- Rendition's AVIF default (q{AVIF_DEFAULT_QUALITY}, effort {AVIF_DEFAULT_EFFORT}) as the equal of WebP "
        f"q80: {verdict_text}.")
    add(f"- Floor (400 px PNG in, uncompressed PNG out): {cpu[(('png', None), 0)]['cpu'] * 1e3:.1f} ms per image.")
    add("")
    add("The sweep (mean SSIM / mean KB per rendition):")
    add("")
    configs = format_configs()
    add("| quality | " + " | ".join(config_label(c) for c in configs) + " |")
    add("|---|" + "---|" * len(configs))
    qualities = sorted({q for (c, q) in scores if c[0] != "png"})
    for quality in qualities:
        cells = []
        for config in configs:
            score = scores.get((config, quality))
            cells.append(f"{score['ssim']:.4f} / {score['bytes'] / 1024:.1f}" if score else "")
        add(f"| {quality} | " + " | ".join(cells) + " |")
    return lines


def jpeg_facts(path):
    """(scans, has EXIF, chroma sampling, bytes) of a JPEG, walking its markers from SOI (an EXIF thumbnail is
    a JPEG of its own inside APP1, so searching for markers would count its frame and scan too)."""
    with open(path, "rb") as handle:
        data = handle.read()
    scans, exif, sampling, at = 0, False, "?", 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            break
        marker = data[at + 1]
        if marker == 0xFF or 0xD0 <= marker <= 0xD8 or marker == 0x01:
            at += 1 if marker == 0xFF else 2
            continue
        if marker == 0xD9:
            break
        length = int.from_bytes(data[at + 2:at + 4], "big")
        segment = data[at + 4:at + 2 + length]
        if marker == 0xE1 and segment.startswith(b"Exif\x00\x00"):
            exif = True
        elif 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC) and sampling == "?":
            components = segment[5]
            h, v = segment[7] >> 4, segment[7] & 15
            sampling = ({(1, 1): "4:4:4", (2, 1): "4:2:2", (2, 2): "4:2:0"}.get((h, v), f"{h}x{v}")
                        if components == 3 else "grey" if components == 1 else f"{components} components")
        at += 2 + length
        if marker == 0xDA:  # entropy-coded data runs to the next marker that is not a stuffed 0 or a restart
            scans += 1
            while True:
                at = data.find(b"\xff", at)
                if at < 0 or at + 1 >= len(data):
                    return scans, exif, sampling, len(data)
                following = data[at + 1]
                if following == 0 or 0xD0 <= following <= 0xD7 or following == 0xFF:
                    at += 1 if following == 0xFF else 2
                    continue
                break
    return scans, exif, sampling, len(data)


def issue17_report(results, images, extra):
    """Issue 17's sections: the derived inputs (and rows 2 and 3 on them), 11 phases, 12 presets per original,
    13 WebP settings."""
    lines = []
    add = lines.append
    if extra:
        add("")
        add("## Progressive and camera inputs (issue 17)")
        add("")
        add("Derived with Debian's `jpegtran` (lossless: the same DCT coefficients, so the same pixels, EXIF kept with "
            "`-copy all`): `-prog` is `jpegtran -progressive` (libjpeg's default script), `-mozprog` is `jpegtran "
            "-scans` with mozjpeg's default YCbCr script (one DC scan per component, luma AC by successive "
            "approximation; benchmarks/bench.py MOZJPEG_SCANS). The camera photo is Debian's mate-backgrounds "
            "`Elephants_5640x3172.jpg` (Sony DSC-RX100M4, EXIF, saved progressive by GIMP), made baseline with "
            "`jpegtran -optimize`.")
        add("")
        add("| input | scans | EXIF | chroma | bytes |")
        add("|---|---|---|---|---|")
        for name in ["5120x2880", *extra]:
            if name in images:
                scans, exif, sampling, size = jpeg_facts(images[name])
                add(f"| {name} | {scans} | {'yes' if exif else 'no'} | {sampling} | {size / 1e6:.2f} MB |")
        inproc, http = results.get("inproc", {}), {r["image"]: r for r in results.get("http", [])
                                                   if r["connections"] == 8 and r["format"] == "webp"}
        if inproc or http:
            add("")
            add("Rows 2 and 3 on these inputs (400 px WebP q80; row 2: CPU per render on one thread, Rendition's "
                "engine vs pyvips `thumbnail`; row 3: c = 8, a fresh key per request, vs thumbor):")
            add("")
            add("| input | 2: Rendition | 2: pyvips | 2: ratio | 3: Rendition | 3: thumbor | 3: speed ratio |")
            add("|---|---|---|---|---|---|---|")
            for name in ["5120x2880", *extra]:
                a, b = inproc.get(name), http.get(name)
                cells = ([f"{a['ours'] * 1e3:.0f} ms (×{a['shrink']})", f"{a['theirs'] * 1e3:.0f} ms", f"{a['ratio']:.2f}"]
                         if a else ["", "", ""])
                cells += ([f"{b['rendition']['rps']:.1f} req/s, {b['rendition']['cpu_ms']:.0f} ms CPU/req",
                           f"{b['thumbor']['rps']:.1f} req/s, {b['thumbor']['cpu_ms']:.0f} ms CPU/req", f"{b['ratio']:.2f}"]
                          if b else ["", "", ""])
                if a or b:
                    add(f"| {name} | " + " | ".join(cells) + " |")
    phases = results.get("phases")
    if phases and phases.get("rows"):
        add("")
        add("## CPU per phase of one render (measurement 11)")
        add("")
        add(f"thumb400 (fit inside 400×400, WebP q80). Rendition: `rendition plan thumb400 --input IMAGE --json`'s "
            f"\"phases\", median of {PHASE_RUNS} runs (one render per process). pyvips ({phases['versions'].get('vips')}) "
            f"and Pillow as thumbor uses it ({phases['versions'].get('pillow')}): benchmarks/phases.py, the plan's "
            f"shrink-on-load, each phase materialised and timed on the process CPU clock, median of "
            f"{PHASE_ITERATIONS} renders; pyvips' `fused` is the same pipeline streamed in one pass (its phases "
            "include the copies between them). CPU ms per render.")
        if phases.get("error"):
            add("")
            add(f"**{phases['error']}.**")
        for name, row in phases["rows"].items():
            ours = row["rendition"] or {}
            vips = {p["name"]: p["cpuMilliseconds"] for p in row["vips"]["phases"]}
            pillow = {p["name"]: p["cpuMilliseconds"] for p in row["pillow"]["phases"]}
            add("")
            add(f"{name}, shrink-on-load ×{row['shrink']} (Pillow's draft gave {row['pillow']['decoded'][0]}×"
                f"{row['pillow']['decoded'][1]}); the plan's own wall-clock total {row['plan_total_ms']:.0f} ms:")
            add("")
            add("| phase | Rendition | pyvips | Pillow (thumbor) |")
            add("|---|---|---|---|")
            order = list(ours) + [k for k in list(vips) + list(pillow) if k not in ours]
            for phase in dict.fromkeys(order):
                cell = lambda table: f"{table[phase]:.1f}" if phase in table else ""
                add(f"| {phase} | {cell(ours)} | {cell(vips)} | {cell(pillow)} |")
            total = lambda table: sum(v for k, v in table.items() if k != "fused")
            add(f"| **sum** | {f'{total(ours):.1f}' if ours else '—'} | {total(vips):.1f} | {total(pillow):.1f} |")
    if results.get("decode_once"):
        add("")
        add("## Every shipped preset of one original (measurement 12)")
        add("")
        add(f"HTTP: `rendition serve` with pipelines/, every preset the plan lets render that original requested at "
            f"once with Chrome's Accept (the `format: auto` card as AVIF), a fresh key per burst (cold: nothing "
            f"stored), {BURST_ROUNDS} bursts after one warm-up, median server CPU per original from /proc. Estimate: "
            f"benchmarks/decode_once.py, the same presets as libvips operations in pyvips on one thread, (i) each "
            f"decoding at its own shrink-on-load factor, (ii) one decode at the smallest factor any of them needs, "
            f"kept in memory, every preset derived from it; {ONCE_ROUNDS} interleaved rounds × {ONCE_ITERATIONS}. "
            f"Issue 17's bar for building it: (i) ÷ (ii) ≥ 1.3 at equal SSIM.")
        add("")
        add("| original | presets (plan's shrink) | HTTP server CPU per original | (i) separately | (ii) decoded once "
            "| (i) ÷ (ii) | ≥ 1.3 | SSIM of (ii) against (i), per preset |")
        add("|---|---|---|---|---|---|---|---|")
        for row in results["decode_once"]:
            e = row["estimate"]
            presets = ", ".join(f"{p} ×{k}" for p, k in row["shrinks"].items())
            if row["skipped"]:
                presets += "; not rendered: " + ", ".join(f"{p} ({why})" for p, why in row["skipped"].items())
            ssim = lambda e: ", ".join(f"{p} {v:.4f}" if v is not None else f"{p} (sizes differ)"
                                       for p, v in e["ssim"].items())
            add(f"| {row['image']} | {presets} | {row['http_cpu'] * 1e3:.0f} ms (burst {row['http_wall'] * 1e3:.0f} ms "
                f"wall, peak {row['peak_mb']:.0f} MB) | {e['separately'] * 1e3:.0f} ms | {e['once'] * 1e3:.0f} ms "
                f"(×{e['shared_shrink']}) | {e['ratio']:.2f} | {verdict(e['ratio'] >= 1.3)} | {ssim(e)} |")
            if row.get("shrunk"):
                e = row["shrunk"]
                add(f"| {row['image']}, only the presets decoded below full size | "
                    f"{', '.join(f'{p} ×{k}' for p, k in e['shrinks'].items())} | — | {e['separately'] * 1e3:.0f} ms | "
                    f"{e['once'] * 1e3:.0f} ms (×{e['shared_shrink']}) | {e['ratio']:.2f} | {verdict(e['ratio'] >= 1.3)} "
                    f"| {ssim(e)} |")
        add("")
        add("CPU per preset in the estimate, ms, (i) / (ii) (the shared decode is its own line in (ii)):")
        add("")
        for row in results["decode_once"]:
            for label, estimate in (("", row["estimate"]), (", shrunk presets only", row.get("shrunk"))):
                if not estimate:
                    continue
                e = estimate["per_preset"]
                add(f"- {row['image']}{label}: shared decode (×{estimate['shared_shrink']}) "
                    f"{e['once'].get('(decode)', 0) * 1e3:.0f}; " + ", ".join(
                        f"{p} {e['separately'][p] * 1e3:.0f} / {e['once'][p] * 1e3:.0f}" for p in estimate["shrinks"]))
        add("")
        add("The avatar's `crop: {aspect: 1:1, gravity: attention}` looks for the subject on the image it is given, "
            "so a larger decode can move the square: a low SSIM there is a different crop, not a worse one.")
    webp = results.get("webp")
    if webp:
        add("")
        add("## WebP settings at equal SSIM (measurement 13)")
        add("")
        add("What each server hands libwebp for a 400 px WebP q80 (read from libvips 8.14.1's "
            "libvips/foreign/webpsave.c, Pillow 12.3's src/PIL/WebPImagePlugin.py and src/_webp.c, thumbor 7.8's "
            "engines/pil.py):")
        add("")
        add("- Rendition → libvips `webpsave_buffer(Q=80, lossless=false, effort=4, smart_subsample=false, "
            "strip=true)`; libvips then calls `WebPConfigPreset(WEBP_PRESET_DEFAULT, 80)` (its `preset` default), "
            "sets `method = effort` = 4, `alpha_quality = alpha_q` = 100 (its default), `lossless` 0, "
            "`use_sharp_yuv` only with smart_subsample; near_lossless off. The filter settings are the DEFAULT "
            "preset's: sns_strength 50, filter_strength 60, filter_sharpness 0, filter_type 1 (strong), segments 4, "
            "pass 1, autofilter 0, preprocessing 0. The RGB→YUV import is libwebp's plain one (use_argb only for "
            "lossless, near_lossless or smart_subsample). Debian's libwebp 1.2.4.")
        add("- thumbor → `image.save(buf, \"WEBP\", quality=80)` (no method given) → Pillow `_save`: method 4, "
            "alpha_quality 100, lossless false, exact false → `WebPConfigInit` (libwebp's DEFAULT preset values at "
            "quality 75, then quality set to 80: the same sns/filter/segments as above), `method` 4, via "
            "`WebPEncode` on an ARGB picture (libwebp's plain ARGB→YUV, no sharp YUV). Pillow's bundled libwebp "
            "1.6.0.")
        add("- So both encode at quality 80, method 4, the DEFAULT preset's filtering and plain 4:2:0 "
            "subsampling; what differs is the libwebp version (1.2.4 vs 1.6.0) and the pixels they are given "
            "(each library's decode and resize).")
        add("")
        add(f"Measured on the 400 px thumb400 pixels of {', '.join(webp['images'])} (decode at the plan's shrink, "
            f"lanczos3), SSIM against those pixels (the encoder's loss alone), mean over the images. Each setting "
            f"is swept over q{webp['sweep']} (near_lossless: levels 0, 20, …, 100; its files are lossless); the quality shown is the lowest whose mean SSIM reaches Rendition's "
            f"default at q80 ({webp['target']:.4f}); bytes at exactly that SSIM are interpolated between that quality "
            f"and the one below. Encode CPU per image on one thread, {WEBP_CPU_ROUNDS} rounds × "
            f"{WEBP_CPU_ITERATIONS}, ratio to the default at q80 in the same round.")
        add("")
        add("| encoder, setting | quality at equal SSIM | SSIM | mean bytes | bytes at exactly the target SSIM ÷ "
            "default q80 | encode CPU per image | CPU ÷ default q80 |")
        add("|---|---|---|---|---|---|---|")
        for row in webp["rows"]:
            label = f"{'libvips webpsave' if row['engine'] == 'vips' else 'Pillow'}: {row['setting']}"
            if row["quality"] is None:
                add(f"| {label} | none in q{webp['sweep']} | | | | | |")
                continue
            add(f"| {label} | {row['quality']} | {row['ssim']:.4f} | {row['bytes']:.0f} | "
                f"{row['bytes_at_target'] / webp['default_bytes']:.3f} | {row['cpu'] * 1e3:.1f} ms | "
                f"{row['cpu_ratio']:.2f} |")
        add("")
        add(f"alpha_q: {'the same bytes with alpha_q=50 as with 100 on every image (no alpha plane)' if webp['alpha_q_identical'] else 'changes the bytes on these images'}. "
            "Nothing here changes Rendition's defaults.")
    return lines


def report(results, images, started, load_start, elapsed, extra=()):
    lines = []
    add = lines.append
    mode = "quick mode (BENCH_QUICK=1: short runs, few rounds)" if QUICK else "full run"
    add(f"# `make bench` — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))}, {mode}")
    add("")
    add(f"Machine: {machine_line()}")
    add(f"Load average at start {load_start}, at end {load_average()}; took {elapsed / 60:.1f} min. The machine may "
        f"be shared: absolute figures are only context, the ratios come from interleaved runs (A B A B).")
    add("")
    add("| # | measurement | input | Rendition | reference | ratio | target | met |")
    add("|---|---|---|---|---|---|---|---|")
    inproc = results.get("inproc", {})
    for row in results.get("cli", []):
        add(f"| 1 | CLI wall, `rendition run` vs `vipsthumbnail` ({row['format']}) | {row['image']} | "
            f"{row['wall'][0] * 1e3:.0f} ms | {row['wall'][1] * 1e3:.0f} ms | {row['wall_ratio']:.2f} | ≤ 1.1 | "
            f"{verdict(row['wall_ratio'] <= 1.1)} |")
        add(f"| 1 | CLI CPU (user + system) ({row['format']}) | {row['image']} | {row['cpu'][0] * 1e3:.0f} ms | "
            f"{row['cpu'][1] * 1e3:.0f} ms | {row['cpu'][0] / row['cpu'][1]:.2f} | — | |")
        add(f"| 1 | CLI peak RSS ({row['format']}) | {row['image']} | {row['rss'][0] / 1024:.0f} MB | "
            f"{row['rss'][1] / 1024:.0f} MB | {row['rss_ratio']:.2f} | — | |")
    for name, row in inproc.items():
        add(f"| 2 | in-process CPU per render, 1 thread, vs bare pyvips loop (webp) | {name} | "
            f"{row['ours'] * 1e3:.0f} ms (shrink-on-load ×{row['shrink']}) | {row['theirs'] * 1e3:.0f} ms | "
            f"{row['ratio']:.2f} | ≤ 1.0 | {verdict(row['ratio'] <= 1.0)} |")
    for row in results.get("presets", []):
        add(f"| 2 | in-process CPU per render, 1 thread, `{row['preset']}` preset vs the same ops in pyvips | "
            f"{row['image']} | {row['ours'] * 1e3:.0f} ms (shrink-on-load ×{row['shrink']}) | "
            f"{row['theirs'] * 1e3:.0f} ms | {row['ratio']:.2f} | ≤ 1.0 | {verdict(row['ratio'] <= 1.0)} |")
    for row in results.get("http", []):
        ours, theirs = row["rendition"], row["thumbor"]
        limit = inproc.get(row["image"], {}).get("limit_rps") if row["format"] == "webp" else None
        limit_text = f"; machine limit {limit:.1f} req/s ({limit and ours['rps'] / limit:.0%} reached)" if limit else ""
        target = "≥ 1.6" if row["connections"] == 8 else "—"
        ok = verdict(row["ratio"] >= 1.6 and ours["p99"] <= 2 * ours["p50"]) if row["connections"] == 8 else ""
        add(f"| 3 | HTTP renders ({row['format']}), c = {row['connections']}, vs thumbor ×{CORES} | {row['image']} | "
            f"{ours['rps']:.1f} req/s, p50 {ours['p50']:.0f} ms, p99 {ours['p99']:.0f} ms, peak {ours['peak_mb']:.0f} MB"
            f"{limit_text} | {theirs['rps']:.1f} req/s, p50 {theirs['p50']:.0f} ms, p99 {theirs['p99']:.0f} ms, "
            f"peak {theirs['peak_mb']:.0f} MB | {row['ratio']:.2f} | {target} (and p99 ≤ 2 × p50) | {ok} |")
    if "hits" in results:
        hits = results["hits"]
        add(f"| 4 | origin hits, c = 8, vs nginx (same file) | 400 px WebP | {hits['ours']:.0f} req/s | "
            f"{hits['theirs']:.0f} req/s | {hits['ratio']:.2f} | ≥ 0.5 | {verdict(hits['ratio'] >= 0.5)} |")
    if "stress" in results:
        ours, theirs = results["stress"]["rendition"], results["stress"]["thumbor"]
        growth = ours["peaks"][-1] - ours["peaks"][0]
        add(f"| 5 | peak RSS, 8 concurrent renders × {STRESS_ROUNDS} rounds (VmHWM per round) | 8000x6000 | "
            f"{' → '.join(f'{p:.0f}' for p in ours['peaks'])} MB | thumbor ×{CORES}: "
            f"{' → '.join(f'{p:.0f}' for p in theirs['peaks'])} MB | {ours['peaks'][-1] / theirs['peaks'][-1]:.2f} | "
            f"≤ 300 MB, no growth | {verdict(ours['peaks'][-1] <= 300 and growth < 10)} |")
    if "cold" in results:
        cold = results["cold"]
        labels = {"release": "`.build/release/bootstrap` (Swift runtime linked dynamically)",
                  "package": "the unpacked `make lambda` zip (static Swift runtime, bundled loader)"}
        for name in ("release", "package"):
            if name not in cold:
                continue
            figure = cold[name]
            add(f"| 6 | Lambda cold start → first answered invocation (median of {COLD_RUNS}), {labels[name]} | "
                f"2560x1600 | {figure['median_ms']:.0f} ms (min {figure['min_ms']:.0f}, max {figure['max_ms']:.0f}) | "
                f"— | — | ≤ 300 ms | {verdict(figure['median_ms'] <= 300 and not cold['bad'])} |")
    if "batch" in results:
        batch = results["batch"]
        add(f"| 7 | batch of {BATCH_FILES}, `rendition run` vs `xargs -P{CORES} vipsthumbnail` (speed) | "
            f"{BATCH_FILES} wallpapers | {batch['ours']:.1f} s | {batch['theirs']:.1f} s | {batch['ratio']:.2f} | "
            f"≥ 1.0 | {verdict(batch['ratio'] >= 1.0)} |")
    for row in results.get("avif_http", []):
        ours, theirs, webp = row["rendition"], row["thumbor"], row["rendition-webp"]
        their_webp = row["thumbor-webp"]
        mine = (f"{ours['rps']:.1f} req/s, p50 {ours['p50']:.0f} ms, {ours['cpu_ms']:.0f} ms CPU per request "
                f"(WebP q80: {webp['cpu_ms']:.0f} ms, so AVIF adds {ours['cpu_ms'] - webp['cpu_ms']:.0f} ms), "
                f"{ours['bytes'] / 1024:.1f} KB")
        if row["thumbor_avif"]:
            peer = (f"{theirs['rps']:.1f} req/s, p50 {theirs['p50']:.0f} ms, {theirs['cpu_ms']:.0f} ms CPU per "
                    f"request (WebP q80: {their_webp['cpu_ms']:.0f} ms, AVIF adds "
                    f"{theirs['cpu_ms'] - their_webp['cpu_ms']:.0f} ms), {theirs['bytes'] / 1024:.1f} KB")
            ratio = f"{row['ratio']:.2f} (WebP: {row['webp_ratio']:.2f})"
        else:
            peer = f"thumbor answered {theirs['media_type'] or '?'}: it cannot write AVIF with this install"
            ratio = "—"
        add(f"| 9 | AVIF per rendition over HTTP (q{AVIF_DEFAULT_QUALITY}, effort {AVIF_DEFAULT_EFFORT} = libaom "
            f"speed {9 - AVIF_DEFAULT_EFFORT}), c = {row['connections']}, vs thumbor ×{CORES} AVIF (Pillow, same "
            f"speed) | {row['image']} | {mine} | {peer} | {ratio} | — | |")
    for row in results.get("auto_http", []):
        ours, theirs, webp = row["rendition"], row["thumbor"], row["rendition-webp"]
        add(f"| 10 | HTTP renders, `format: auto` preset with Chrome's Accept, c = {row['connections']}, vs thumbor "
            f"×{CORES} AUTO_AVIF | {row['image']} | {ours['rps']:.1f} req/s, p50 {ours['p50']:.0f} ms, p99 "
            f"{ours['p99']:.0f} ms, peak {ours['peak_mb']:.0f} MB, {ours['cpu_ms']:.0f} ms CPU per request, "
            f"{ours['media_type']} {ours['bytes'] / 1024:.1f} KB; Rendition's WebP preset {webp['rps']:.1f} req/s "
            f"(auto ÷ WebP {row['webp_ratio']:.2f}) | {theirs['rps']:.1f} req/s, p50 {theirs['p50']:.0f} ms, p99 "
            f"{theirs['p99']:.0f} ms, peak {theirs['peak_mb']:.0f} MB, {theirs['cpu_ms']:.0f} ms CPU per request, "
            f"{theirs['media_type']} {theirs['bytes'] / 1024:.1f} KB | {row['ratio']:.2f} | — | |")
    add("")
    add("Ratios: 1 and 2 are Rendition ÷ reference (lower is better); 3, 4, 7, 9 and 10 are Rendition's speed ÷ the "
        "reference's (higher is better); 5 is Rendition's last-round peak ÷ thumbor's. Each ratio is the median of "
        "the per-round ratios (1–4, 7, 9, 10) or of medians.")
    if results.get("quality"):
        add("")
        add("## Quality and the cost of shrink-on-load")
        add("")
        add("SSIM of each rendition against a reference made by full-size decode + lanczos3 to the same size "
            "(scikit-image, 1.0 = identical). CPU is per image on one libvips thread (measurement 2).")
        add("")
        add("| input | rendition | format | size | SSIM | CPU per image |")
        add("|---|---|---|---|---|---|")
        for row in results["quality"]:
            cpu = ""
            if row["shrink"]:
                cpu = f"{results.get('shrink', {}).get(row['image'], {}).get(row['shrink'], float('nan')) * 1e3:.0f} ms"
            elif row["label"] == QUALITY_LABELS["engine"] and row["image"] in inproc:
                cpu = f"{inproc[row['image']]['ours'] * 1e3:.0f} ms (shrink-on-load ×{inproc[row['image']]['shrink']})"
            elif row["label"] == QUALITY_LABELS["pyvips"] and row["image"] in inproc:
                cpu = f"{inproc[row['image']]['theirs'] * 1e3:.0f} ms"
            if row["format"] != "webp":
                cpu = ""  # CPU was measured on the WebP runs
            add(f"| {row['image']} | {row['label']} | {row['format']} | {row['size']} | {row['ssim']:.4f} | {cpu} |")
    if "formats" in results:
        lines.extend(format_report(results["formats"]))
    lines.extend(issue17_report(results, images, extra))
    if "http" in results:
        add("")
        add("## HTTP details")
        add("")
        for row in results["http"]:
            for kind in ("rendition", "thumbor"):
                data = row[kind]
                notes = "; ".join(data["notes"])
                add(f"- {row['image']} {row['format']} c={row['connections']} {kind}: {data['rps']:.1f} req/s, "
                    f"server CPU {data['cpu_ms']:.0f} ms per request, errors {data['errors']}"
                    f"{'; ' + notes if notes else ''}")
    if "stress" in results:
        add("")
        add("Stress, RSS after each round (VmRSS): Rendition "
            + " → ".join(f"{r:.0f}" for r in results["stress"]["rendition"]["rss"]) + " MB; thumbor "
            + " → ".join(f"{r:.0f}" for r in results["stress"]["thumbor"]["rss"]) + " MB. Non-2xx/3xx answers: "
            + f"{results['stress']['rendition']['bad'] or 'none'} / {results['stress']['thumbor']['bad'] or 'none'}.")
    if results.get("errors"):
        add("")
        add("## Measurements that failed")
        add("")
        for step, error in results["errors"].items():
            add(f"- {step}: {error}")
    add("")
    add("## Commands")
    add("")
    add(f"`$WORK` = {WORK}, `$BIN` = {BIN}, `$VENV` = {VENV_BIN}; `N` is the key, fresh per request.")
    add("")
    add("```")
    lines.extend(COMMANDS)
    add("```")
    return "\n".join(lines) + "\n"


def main():
    for tool in ("vipsthumbnail", "vips", "wrk", "nginx", "apt-get", "dpkg-deb"):
        if not shutil.which(tool):
            sys.exit(f"bench: {tool} is missing; run `make bench` (benchmarks/run.sh installs it)")
    # which binaries the chosen measurements run (run.sh builds just those)
    needs = {"rendition": set(range(1, 14)) - {2, 6}, "bootstrap": {6}, "rendition-bench": {2, 8}}
    for binary, steps in needs.items():
        if (not ONLY or ONLY & steps) and not os.access(os.path.join(BIN, binary), os.X_OK):
            sys.exit(f"bench: {BIN}/{binary} is missing; run `make bench` (it builds the release binaries)")
    started, load_start = time.time(), load_average()
    os.makedirs(WORK, exist_ok=True)
    shutil.rmtree(os.path.join(WORK, "stores"), ignore_errors=True)
    shutil.rmtree(os.path.join(WORK, "nginx"), ignore_errors=True)
    images, batch_files = prepare_inputs()
    extra = prepare_progressive(images)
    originals = make_originals({**images, **extra})
    images, extra = select_inputs(images), select_inputs(extra)
    everything = {**images, **extra}
    pipelines = write_pipelines()
    quality_dir = os.path.join(WORK, "quality")
    shutil.rmtree(quality_dir, ignore_errors=True)
    for folder in ("engine", "pyvips", "cli", "http"):
        os.makedirs(os.path.join(quality_dir, folder))
    out = os.path.join(quality_dir, "cli")
    log(f"{'quick' if QUICK else 'full'} run; images: " + ", ".join(images) + "; issue 17's inputs: "
        + (", ".join(extra) or "none"))

    results = {"errors": {}}
    steps = [
        (1, "cli", lambda: step_cli(images, pipelines, out)),
        (2, "inproc", lambda: step_inprocess(everything, pipelines, quality_dir)),
        (2, "presets", lambda: step_presets(images)),
        (2, "shrink", lambda: step_shrink(images, quality_dir)),
        (3, "http", lambda: step_http(everything, pipelines, originals, quality_dir, set(extra))),
        (4, "hits", lambda: step_hits(pipelines, originals)),
        (5, "stress", lambda: step_stress(pipelines, originals)),
        (6, "cold", lambda: step_cold(pipelines, originals)),
        (7, "batch", lambda: step_batch(batch_files, pipelines)),
        (8, "formats", lambda: step_formats(images)),
        (9, "avif_http", lambda: step_avif_http(pipelines, originals, quality_dir)),
        (10, "auto_http", lambda: step_auto_http(pipelines, originals, quality_dir)),
        (11, "phases", lambda: step_phases(everything, pipelines)),
        (12, "decode_once", lambda: step_decode_once(everything, originals)),
        (13, "webp", lambda: step_webp(everything, pipelines)),
    ]
    for number, key, step in steps:
        if ONLY and number not in ONLY:
            continue
        try:
            results[key] = step()
            if isinstance(results[key], dict) and results[key].get("error"):  # measured, but with a part missing
                results["errors"][key] = results[key]["error"]
        except Exception as error:  # one failed measurement must not lose the others
            log(f"{key} failed: {error}")
            results["errors"][key] = str(error).strip().splitlines()[0][:300] if str(error).strip() else repr(error)
    try:
        results["quality"] = step_quality(everything, quality_dir)
    except Exception as error:
        results["errors"]["quality"] = str(error)[:300]

    text = report(results, everything, started, load_start, time.time() - started, extra)
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "w") as handle:
        handle.write(text)
    print()
    print(text)
    log(f"written to {os.path.relpath(RESULTS, ROOT)}")


if __name__ == "__main__":
    main()
