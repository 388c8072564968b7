#!/usr/bin/env bash
# Runs each libFuzzer target for FUZZ_SECONDS (default 300) and prints executions and coverage.
# Usage: Fuzz/run.sh BIN_DIR  (the folder holding the fuzz-built FuzzPipeline, FuzzRequestPath and FuzzJPEGScans)
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$1"
seconds="${FUZZ_SECONDS:-300}"
mkdir -p .build/fuzz-corpus/pipeline .build/fuzz-corpus/request-path .build/fuzz-corpus/jpeg-scans Fuzz/findings
cp pipelines/*.yaml .build/fuzz-corpus/pipeline/
cp Fuzz/seeds/request-path/* .build/fuzz-corpus/request-path/
# Progressive JPEG seeds from Debian's libjpeg-turbo tools (libjpeg-turbo-progs): noise, every sampling, both
# scan scripts, restart intervals, so the fuzzer starts from files the rewriter rewrites and from its fallbacks.
seeds=.build/fuzz-corpus/jpeg-scans
{ printf 'P6\n40 24\n255\n'; head -c $((40 * 24 * 3)) /dev/urandom; } >"$seeds/noise.ppm"
for sample in 2x2 2x1 1x1; do
    cjpeg -quality 80 -sample "$sample" -progressive -outfile "$seeds/progressive-$sample.jpg" "$seeds/noise.ppm"
done
cjpeg -quality 80 -grayscale -progressive -outfile "$seeds/grey.jpg" "$seeds/noise.ppm"
cjpeg -quality 80 -progressive -restart 1 -outfile "$seeds/restart.jpg" "$seeds/noise.ppm"
printf '0: 0 0 0 0;\n1: 0 0 0 0;\n2: 0 0 0 0;\n0: 1 8 0 2;\n1: 1 63 0 0;\n2: 1 63 0 0;\n0: 9 63 0 2;\n0: 1 63 2 1;\n0: 1 63 1 0;\n' >"$seeds/scans.txt"
cjpeg -quality 80 -scans "$seeds/scans.txt" -outfile "$seeds/mozjpeg-style.jpg" "$seeds/noise.ppm"
rm "$seeds/noise.ppm" "$seeds/scans.txt"

summary=()
for target in pipeline:FuzzPipeline request-path:FuzzRequestPath jpeg-scans:FuzzJPEGScans; do
    name="${target%%:*}"
    binary="$bin/${target##*:}"
    log=".build/fuzz-$name.log"
    echo "fuzzing $name for ${seconds}s (corpus .build/fuzz-corpus/$name, log $log)"
    status=0
    ASAN_OPTIONS=detect_leaks=0 "$binary" ".build/fuzz-corpus/$name" "Fuzz/regressions/$name" \
        -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="Fuzz/findings/$name-" \
        -timeout=10 -rss_limit_mb=2048 >"$log" 2>&1 || status=$?
    runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{print $2}' | tail -1)
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
    corpus=$(ls ".build/fuzz-corpus/$name" | wc -l)
    summary+=("| $name | ${runs:-?} | ${cov:-?} | $corpus | $([ "$status" -eq 0 ] && echo none || echo "see Fuzz/findings") |")
    if [ "$status" -ne 0 ]; then
        tail -40 "$log"
        echo "fuzz target $name failed (exit $status): add the file in Fuzz/findings to Fuzz/regressions/$name and fix it"
    fi
done
echo
echo "| target | executions | coverage (edges, features) | corpus files | crashes |"
echo "|---|---|---|---|---|"
printf '%s\n' "${summary[@]}"
! grep -q "see Fuzz/findings" <<<"${summary[*]}"
