#!/usr/bin/env bash
# Creates the Python virtual environment used by the model parity tests, the
# HTTP integration tests (requests), Parquet export (pyarrow) and the model
# benchmark helper: /work/main/.venv (or $EDDY_VENV), with pinned
# versions from PyPI. Idempotent: when the venv exists and already holds the
# pinned versions nothing is installed. Prints the venv path on the last line.
#
# xgboost comes as `xgboost-cpu`, the same library (import name `xgboost`)
# without the ~200 MB CUDA/NCCL dependency that `xgboost` pulls in on Linux.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${EDDY_VENV:-$PWD/.venv}"
PYTHON="${PYTHON:-python3}"
PINS=(
  numpy==2.2.6
  pandas==2.2.3
  scipy==1.15.3
  scikit-learn==1.6.1
  xgboost-cpu==2.1.4
  lightgbm==4.6.0
  pytest==8.3.5
  pytest-timeout==2.3.1
  pyarrow==19.0.1
  requests==2.32.3
  PyYAML==6.0.2
)

if [ ! -x "$VENV/bin/python" ]; then
  echo "python-env: creating $VENV" >&2
  "$PYTHON" -m venv "$VENV"
fi

# Compare what is installed with the pins; install only when they differ.
installed="$("$VENV/bin/python" -m pip freeze 2>/dev/null || true)"
missing=()
for pin in "${PINS[@]}"; do
  if ! grep -qix "$pin" <<<"$installed"; then missing+=("$pin"); fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "python-env: installing ${missing[*]}" >&2
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PINS[@]}" >&2
else
  echo "python-env: all ${#PINS[@]} pinned packages present" >&2
fi
echo "$VENV"
