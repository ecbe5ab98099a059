#!/usr/bin/env bash
# Builds the benchmarks in Release (build/bench) and runs them, writing
# Google Benchmark JSON to bench/results/<bench>-<UTC stamp>.json and the
# machine description to bench/results/<UTC stamp>-machine.txt.
#
#   scripts/bench.sh [BENCH...] [-- extra benchmark flags]
#
# BENCH defaults to every *_bench target (ingest_bench, model_bench, ...).
# Environment:
#   REPS      repetitions per benchmark; results report mean/median/stddev
#             (default 5)
#   MIN_TIME  --benchmark_min_time per repetition, seconds (default 0.5)
#   JOBS      build parallelism (default 2)
# Example: scripts/bench.sh ingest_bench -- --benchmark_filter=SourcePipeline
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="$ROOT/build/bench"
OUT="$ROOT/bench/results"
REPS="${REPS:-5}"
MIN_TIME="${MIN_TIME:-0.5}"
JOBS="${JOBS:-2}"

benches=()
extra=()
while [ $# -gt 0 ]; do
  if [ "$1" = "--" ]; then
    shift
    extra=("$@")
    break
  fi
  benches+=("$1")
  shift
done

cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DEDDY_BUILD_TESTS=OFF \
  -DEDDY_BUILD_BENCH=ON >/dev/null
if [ ${#benches[@]} -eq 0 ]; then
  mapfile -t benches < <(ninja -C "$BUILD" -t targets all |
    sed -n 's/^\([a-z_]*_bench\): .*/\1/p' | grep -v '^cmake_' | sort -u)
fi
cmake --build "$BUILD" -j "$JOBS" --target "${benches[@]}"

mkdir -p "$OUT"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
machine="$OUT/$stamp-machine.txt"
{
  echo "date:      $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit:    $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(
    git -C "$ROOT" diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "cpu:       $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  echo "nproc:     $(nproc)"
  echo "memory:    $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
  echo "kernel:    $(uname -r)"
  echo "compiler:  $(grep -m1 CMAKE_CXX_COMPILER: "$BUILD/CMakeCache.txt" | cut -d= -f2) $(
    "$(grep -m1 CMAKE_CXX_COMPILER: "$BUILD/CMakeCache.txt" | cut -d= -f2)" -dumpversion)"
  echo "build:     Release (-O2 -DNDEBUG), EDDY_SIMD=$(grep -m1 EDDY_SIMD: "$BUILD/CMakeCache.txt" |
    cut -d= -f2)"
  echo "load avg:  $(cut -d' ' -f1-3 /proc/loadavg) (before the run)"
} >"$machine"
cat "$machine"

for b in "${benches[@]}"; do
  json="$OUT/$b-$stamp.json"
  echo "== $b -> ${json#"$ROOT"/}"
  "$BUILD/bin/$b" --benchmark_repetitions="$REPS" --benchmark_report_aggregates_only=true \
    --benchmark_min_time="$MIN_TIME" --benchmark_out="$json" --benchmark_out_format=json \
    "${extra[@]}"
done
echo "load avg after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$machine"
