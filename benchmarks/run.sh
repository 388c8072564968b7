#!/usr/bin/env bash
# `make bench`: installs the peers, builds Rendition in release, then runs benchmarks/bench.py, which downloads the
# inputs, measures everything interleaved and writes benchmarks/results/latest.md. BENCH_QUICK=1 for a short run.
# BENCH_ONLY=1,3 runs only those measurements (1-13) and builds only the binaries they run; BENCH_ONLY=formats
# is the output-format sections alone (issue 14): 8 JPEG/WebP/AVIF at equal SSIM, 9 AVIF encode per rendition
# vs thumbor's AVIF, 10 a `format: auto` preset over HTTP, e.g. `BENCH_ONLY=formats make bench`. 11-13 are
# issue 17's: 11 CPU per phase, 12 every shipped preset of one original, 13 WebP settings at equal SSIM.
set -euo pipefail

cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"

# Debian packages: wrk (load), nginx (static peer and thumbor's balancer), libvips-tools (vipsthumbnail, vips),
# libjpeg-turbo-progs (jpegtran: the progressive inputs of issue 17, derived losslessly from baseline JPEGs).
APT_PACKAGES=(wrk nginx unzip libvips-tools libvips-dev libwebp-dev libexif-dev pkg-config libjpeg-turbo-progs)
# PyPI, in a virtualenv of our own: pyvips (bare libvips loop), thumbor 7 (the peer), scikit-image (SSIM), and
# a Pillow that writes AVIF itself (11.3 and later wheels bundle libavif), which thumbor 7.8 uses for its AVIF.
PIP_PACKAGES=(pyvips 'thumbor==7.*' scikit-image 'pillow>=11.3')
VENV=benchmarks/.venv

missing=()
for package in "${APT_PACKAGES[@]}"; do
    dpkg -s "$package" 2>/dev/null | grep -q "Status: install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    echo "bench: installing ${missing[*]}"
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi

if ! command -v python3 >/dev/null; then
    echo "bench: python3 is missing; install it (apt-get install python3 python3-venv)" >&2
    exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import pyvips, thumbor, skimage, PIL.features as f; assert f.check('avif')" 2>/dev/null; then
    echo "bench: installing ${PIP_PACKAGES[*]} into $VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PIP_PACKAGES[@]}"
fi

# Release builds, as users run them. One product at a time keeps the peak memory of a 2-core machine low. With
# BENCH_ONLY, only what those measurements run: bootstrap for 6, rendition-bench for 2 and 8, rendition for the rest
# (11-13 call `rendition plan`).
only="${BENCH_ONLY:-}"
only=",${only// /},"
only="${only//,formats,/,8,9,10,}"
wants() {  # wants 2 8: whether BENCH_ONLY is unset or names any of these measurements
    [ "$only" = ",," ] && return 0
    local step
    for step in "$@"; do [[ "$only" == *",$step,"* ]] && return 0; done
    return 1
}
products=()
wants 1 3 4 5 7 8 9 10 11 12 13 && products+=(rendition)
wants 6 && products+=(bootstrap)
wants 2 8 && products+=(rendition-bench)
for product in "${products[@]}"; do
    echo "bench: swift build -c release --product $product"
    swift build -c release --product "$product" --explicit-target-dependency-import-check error
done
BENCH_BIN="$(swift build -c release --show-bin-path)"
export BENCH_BIN

exec "$VENV/bin/python" benchmarks/bench.py
