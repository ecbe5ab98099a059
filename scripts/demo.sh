#!/usr/bin/env bash
# Eddy's main job on the embedded default, from a fresh machine: installs
# dependencies, builds Release, generates a realistic card-transaction stream
# and runs the fraud pipeline in examples/fraud/ on it, with progress and a
# summary.
#
#   scripts/demo.sh                 1,000,000 events
#   EDDY_DEMO_EVENTS=5000000 scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."

events="${EDDY_DEMO_EVENTS:-1000000}"
echo "==> installing dependencies"
scripts/install-deps.sh
echo "==> building (Release)"
scripts/build.sh release eddy eddy-datagen

data=examples/fraud/data
mkdir -p "$data"
stamp="$data/.generated-$events"
if [ ! -f "$stamp" ]; then
  echo "==> generating $events card transactions (seed 42)"
  rm -f "$data"/.generated-*
  build/release/bin/eddy-datagen --events "$events" --users 100000 --merchants 20000 --seed 42 \
    --format jsonl --out "$data/transactions.jsonl" --labels "$data/labels.jsonl"
  touch "$stamp"
fi

echo "==> eddy validate examples/fraud/pipeline.yaml"
build/release/bin/eddy validate examples/fraud/pipeline.yaml
echo "==> eddy run examples/fraud/pipeline.yaml"
build/release/bin/eddy run examples/fraud/pipeline.yaml
echo
echo "Outputs are in examples/fraud/out/: accepted.jsonl, late.jsonl, dead_letter.jsonl."
echo "Next: docs/walkthrough.md explains each step and how to use your own data."
