#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what is needed, checks
# formatting, builds Release with warnings as errors, runs unit, scenario and
# integration tests, rebuilds with ASan+UBSan and reruns the unit and scenario
# tests, then runs every fuzzer for a short time under the sanitizers.
#
#   scripts/test.sh            everything (what CI runs)
#   EDDY_FUZZ_SECONDS=0 ...    skip fuzzing
#   EDDY_SKIP_ASAN=1 ...       skip the sanitizer build
set -euo pipefail
cd "$(dirname "$0")/.."

started=$(date +%s)
stage() {
  echo
  echo "==> $* ($(( $(date +%s) - started ))s)"
}

stage "dependencies"
scripts/install-deps.sh
venv="$(scripts/python-env.sh | tail -n 1)"

stage "formatting (.clang-format)"
mapfile -t sources < <(git ls-files '*.cc' '*.h')
if [ ${#sources[@]} -gt 0 ]; then
  clang-format --dry-run --Werror "${sources[@]}"
fi

stage "release build (-O2, -Werror)"
scripts/build.sh release

stage "unit and scenario tests (release)"
ctest --test-dir build/release --output-on-failure -j "$(nproc)" -LE slow

if [ -d tests/integration ]; then
  stage "integration tests (pytest, real binaries)"
  PY="$venv/bin/python"
  # --timeout: a test that hangs fails after 5 minutes with the stack of every
  # thread (pytest-timeout) instead of running into CI's limit silently.
  EDDY_BIN_DIR="$PWD/build/release/bin" "$PY" -m pytest -q --timeout=300 --durations=10 \
    tests/integration
fi

if [ "${EDDY_SKIP_ASAN:-0}" != "1" ]; then
  stage "sanitizer build (Debug, ASan+UBSan)"
  scripts/build.sh asan
  stage "unit and scenario tests under ASan+UBSan"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build/asan --output-on-failure -j "$(nproc)" -LE slow
fi

fuzz_seconds="${EDDY_FUZZ_SECONDS:-20}"
if [ "$fuzz_seconds" != "0" ] && [ -x scripts/fuzz.sh ]; then
  stage "fuzzing (${fuzz_seconds}s per target, ASan+UBSan)"
  scripts/fuzz.sh "$fuzz_seconds"
fi

stage "all tests passed"
