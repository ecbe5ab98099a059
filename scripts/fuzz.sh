#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang-14, ASan and UBSan, replays
# every saved regression input, then fuzzes each target for SECONDS (default
# 30) on a copy of its seed corpus. Exits non-zero if any target crashed, hit
# a timeout or ran out of memory; reproducers are left in
# build/fuzz/artifacts/<target>/ and logs in build/fuzz/logs/.
#
#   scripts/fuzz.sh [SECONDS]
#
# Environment:
#   FUZZ_TARGETS  space-separated subset of targets (default: all)
#   JOBS          build parallelism (default: 2)
#   ASAN_OPTIONS, UBSAN_OPTIONS  appended to the defaults below
#
# New inputs found while fuzzing stay in build/fuzz/corpus/<target>/; to keep
# the interesting ones, minimise them into the seed corpus:
#   build/fuzz/bin/<target> -merge=1 fuzz/corpus/<target> build/fuzz/corpus/<target>
set -uo pipefail

SECONDS_PER_TARGET="${1:-30}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="$ROOT/build/fuzz"
JOBS="${JOBS:-2}"
ALL_TARGETS="fuzz_json_decoder fuzz_csv_decoder fuzz_pipeline_file fuzz_expression fuzz_file_source fuzz_model_file fuzz_stored_vector fuzz_history fuzz_http_request"
TARGETS="${FUZZ_TARGETS:-$ALL_TARGETS}"

max_len() {
  case "$1" in
    fuzz_expression) echo 512 ;;
    fuzz_file_source) echo 8192 ;;
    *) echo 4096 ;;
  esac
}
dict() {
  case "$1" in
    fuzz_json_decoder) echo json.dict ;;
    fuzz_csv_decoder) echo csv.dict ;;
    fuzz_pipeline_file) echo pipeline.dict ;;
    fuzz_expression) echo expression.dict ;;
    fuzz_file_source) echo json.dict ;;
    fuzz_http_request) echo http.dict ;;
    *) echo json.dict ;;
  esac
}

# Seed corpus of a target: fuzz/corpus/<target>, or beside its module.
corpus() {
  case "$1" in
    fuzz_model_file) echo "$ROOT/src/model/testdata/fuzz_seeds" ;;
    *) echo "$ROOT/fuzz/corpus/$1" ;;
  esac
}

# -Wno-unknown-warning-option: a GCC-only warning flag in a module's
# CMakeLists.txt (src/config once had -Wno-dangling-pointer) must not break
# the clang build under -Werror.
CC=clang-14 CXX=clang++-14 cmake -S "$ROOT" -B "$BUILD" -G Ninja \
  -DEDDY_FUZZ=ON -DEDDY_BUILD_TESTS=OFF -DEDDY_BUILD_BENCH=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS=-Wno-unknown-warning-option >/dev/null ||
  { echo "fuzz.sh: cmake configure failed" >&2; exit 2; }
# shellcheck disable=SC2086
cmake --build "$BUILD" -j "$JOBS" --target $TARGETS ||
  { echo "fuzz.sh: build failed" >&2; exit 2; }

# The core is compiled with recoverable UBSan checks: halt on the first one.
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export ASAN_OPTIONS="abort_on_error=0:detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"

mkdir -p "$BUILD/logs"
failed=()
for t in $TARGETS; do
  bin="$BUILD/bin/$t"
  log="$BUILD/logs/$t.log"
  artifacts="$BUILD/artifacts/$t/"
  mkdir -p "$artifacts"
  : >"$log"

  # Inputs that crashed before: each must now run cleanly.
  reg="$ROOT/fuzz/regressions/$t"
  if [ -d "$reg" ] && [ -n "$(ls -A "$reg" 2>/dev/null)" ]; then
    for f in "$reg"/*; do
      if ! "$bin" "$f" >>"$log" 2>&1; then
        echo "FAIL  $t: regression input $f still crashes (see $log)"
        failed+=("$t:regression:$(basename "$f")")
      fi
    done
  fi

  work="$BUILD/corpus/$t"
  mkdir -p "$work"
  cp -n "$(corpus "$t")"/* "$work/" 2>/dev/null
  d="$ROOT/fuzz/dictionaries/$(dict "$t")"
  "$bin" "$work" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 \
    -max_len="$(max_len "$t")" -dict="$d" -artifact_prefix="$artifacts" \
    -print_final_stats=1 >>"$log" 2>&1
  rc=$?
  stats="$(grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE)' "$log" | tail -1)"
  if [ $rc -ne 0 ]; then
    echo "FAIL  $t: exit $rc; reproducer in $artifacts (log $log)"
    grep -E 'ERROR:|fuzz property failed|runtime error' "$log" | head -3 | sed 's/^/      /'
    failed+=("$t")
  else
    echo "ok    $t: ${SECONDS_PER_TARGET}s, ${stats}"
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: failures: ${failed[*]}"
  exit 1
fi
echo "fuzz.sh: all targets ran clean"
