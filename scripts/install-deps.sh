#!/usr/bin/env bash
# Installs everything Eddy needs to build, test and run, from Debian packages.
# Idempotent: packages already present are not reinstalled, and apt-get update
# runs only when something is missing. Python packages (scripts/python-env.sh)
# and the Kafka broker (later) are installed by their own scripts.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build ccache clang-format clang-14 libclang-rt-14-dev lld-14
  # libraries (see docs/dependencies.md for why each one)
  libsimdjson-dev libyaml-cpp-dev libgtest-dev libgmock-dev libbenchmark-dev
  librocksdb-dev libboost1.81-dev libboost-json1.81-dev librdkafka-dev libhiredis-dev
  libssl-dev zlib1g-dev
  # test and benchmark tools
  redis-server wrk python3-venv curl
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} Debian packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
