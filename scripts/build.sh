#!/usr/bin/env bash
# Configures and builds Eddy. Usage: scripts/build.sh [release|debug|asan] [ninja targets...]
#   release  -O2, warnings are errors          -> build/release
#   debug    -O0 -g                            -> build/debug
#   asan     Debug with AddressSanitizer+UBSan -> build/asan
set -euo pipefail
cd "$(dirname "$0")/.."

kind="${1:-release}"
shift || true
case "$kind" in
  release) dir=build/release; args=(-DCMAKE_BUILD_TYPE=Release) ;;
  debug) dir=build/debug; args=(-DCMAKE_BUILD_TYPE=Debug) ;;
  asan) dir=build/asan; args=(-DCMAKE_BUILD_TYPE=Debug -DEDDY_SANITIZE=ON -DEDDY_BUILD_BENCH=OFF) ;;
  *) echo "usage: $0 [release|debug|asan] [targets...]" >&2; exit 2 ;;
esac

# Two parallel jobs per core would thrash memory on small machines; one per core.
jobs="${EDDY_BUILD_JOBS:-$(nproc)}"
cmake -S . -B "$dir" -G Ninja -DEDDY_WERROR=ON "${args[@]}" >/dev/null
ninja -C "$dir" -j "$jobs" "$@"
