#!/usr/bin/env bash
# Load test of the HTTP layer on loopback: starts serve_test_server (auth on,
# audit log on), drives it with eddy_loadgen at fixed rates (open loop,
# keep-alive; see bench/load/README.md) and with wrk (closed loop, maximum
# throughput), and prints one table per route.
#
#   scripts/load.sh [--bin-dir DIR] [--routes "noop predict"] [--rates "1000 5000 10000 15000 20000"]
#                   [--duration 10s] [--warmup 2s] [--threads 2] [--connections 16]
#                   [--no-wrk] [--soak]
#   scripts/load.sh --pipeline [eddy_predict.py options]   (against `eddy run`; see below)
#
# --soak: one long run per route at each rate with --duration (e.g. --rates 5000
# --duration 300s), printing the server's resident memory before and after.
# Binaries come from --bin-dir, $EDDY_BIN_DIR or build/release/bin (built there
# if missing). A rate counts as sustained when it is achieved within 1% with no
# errors; the table also says whether p99 <= 1 ms.
set -euo pipefail
cd "$(dirname "$0")/.."

# --pipeline: the same kind of load against a real `eddy run` pipeline (an http
# source, two per-event feature groups, a 200-tree XGBoost model, auth and the
# audit log): bench/load/eddy_predict.py, which takes the remaining arguments
# (--rates, --duration, --max-rate, --soak 300s --soak-rate 5000, ...; --help).
if [ "${1:-}" = "--pipeline" ]; then
  shift
  python="${EDDY_PYTHON:-$PWD/.venv/bin/python}"
  [ -x "$python" ] || python=python3
  exec "$python" bench/load/eddy_predict.py "$@"
fi

bin_dir="${EDDY_BIN_DIR:-$PWD/build/release/bin}"
routes="noop predict"
rates="1000 5000 10000 15000 20000"
duration=10s
warmup=2s
threads=2
connections=16
use_wrk=1
soak=0
while [ $# -gt 0 ]; do
  case "$1" in
    --bin-dir) bin_dir="$2"; shift 2 ;;
    --routes) routes="$2"; shift 2 ;;
    --rates) rates="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --no-wrk) use_wrk=0; shift ;;
    --soak) soak=1; shift ;;
    *) echo "load.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

if [ ! -x "$bin_dir/serve_test_server" ] || [ ! -x "$bin_dir/eddy_loadgen" ]; then
  scripts/build.sh release serve_test_server eddy_loadgen
  bin_dir="$PWD/build/release/bin"
fi

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then kill -TERM "$server_pid"; wait "$server_pid" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

token="load-$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
printf '%s predict,read load-test\n' "$token" > "$work/tokens"
chmod 600 "$work/tokens"
body='{"key":"user-42","amount":125.5,"merchant":"m-1234","device":"d-77","country":"FR"}'

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "server: serve_test_server --threads $threads (auth on, audit log on); loadgen: $connections keep-alive connections, warm-up $warmup, $duration per rate"

# What the machine itself does to a thread that wants to run every 100 us:
# server latency percentiles cannot be better than this.
"$bin_dir/eddy_loadgen" --noise --rate 10000 --duration 5s

start_server() {
  "$bin_dir/serve_test_server" --port 0 --threads "$threads" --tokens "$work/tokens" \
    --audit "$work/audit.jsonl" > "$work/server.out" 2> "$work/server.err" &
  server_pid=$!
  for _ in $(seq 100); do
    if grep -q '^listening on' "$work/server.out"; then break; fi
    sleep 0.05
  done
  port=$(awk '/^listening on/ {print $3}' "$work/server.out")
  [ -n "$port" ] || { cat "$work/server.err" >&2; exit 1; }
}

stop_server() {
  kill -TERM "$server_pid"
  wait "$server_pid"
  server_pid=""
}

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$server_pid/status"; }

for route in $routes; do
  case "$route" in
    noop) path=/v1/noop; gen_args=(); wrk_args=() ;;
    predict) path=/v1/predict; gen_args=(--body "$body"); wrk_args=(-s bench/load/post_json.lua) ;;
    *) echo "load.sh: unknown route $route (noop, predict)" >&2; exit 2 ;;
  esac
  rm -f "$work/audit.jsonl"
  start_server
  url="http://127.0.0.1:$port$path"
  echo
  echo "== $route: $url"
  printf '%8s %10s %8s %8s %8s %8s %9s %7s %8s\n' rate achieved p50_us p90_us p99_us p999_us max_us errors gen_cpu
  completed_total=0
  for rate in $rates; do
    sampler=""
    if [ "$soak" = 1 ]; then
      echo "rss before: $(rss_kib) KiB"
      (while kill -0 "$server_pid" 2>/dev/null; do rss_kib; sleep 10; done) > "$work/rss" 2>/dev/null &
      sampler=$!
    fi
    out=$("$bin_dir/eddy_loadgen" --url "$url" --rate "$rate" --duration "$duration" \
      --warmup "$warmup" --connections "$connections" --header "Authorization: Bearer $token" \
      "${gen_args[@]}" --json || true)
    python3 - "$out" <<'EOF'
import json, sys
r = json.loads(sys.argv[1])
l = r["latency_us"]
errors = r["non_2xx"] + r["connection_errors"] + r["timeouts"]
sustained = r["achieved_rate"] >= 0.99 * r["target_rate"] and errors == 0
print(f'{r["target_rate"]:8.0f} {r["achieved_rate"]:10.1f} {l["p50"]:8.1f} {l["p90"]:8.1f} {l["p99"]:8.1f} '
      f'{l["p999"]:8.1f} {l["max"]:9.1f} {errors:7d} {r["loadgen_cpu"]*100:7.0f}%'
      f'{"" if sustained else "  NOT SUSTAINED"}{"  p99>1ms" if l["p99"] > 1000 else ""}')
EOF
    completed_total=$((completed_total + $(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["completed"])' "$out")))
    if [ -n "$sampler" ]; then
      kill "$sampler" 2>/dev/null || true
      echo "rss after: $(rss_kib) KiB; every 10s during the run (KiB): $(tr '\n' ' ' < "$work/rss")"
    fi
  done
  if [ "$use_wrk" = 1 ] && command -v wrk >/dev/null; then
    echo "-- wrk (closed loop, 1 thread, $connections connections, 10s): max throughput"
    wrk_out=$(EDDY_TOKEN="$token" EDDY_BODY="$body" wrk -t1 -c"$connections" -d10s --latency \
      -H "Authorization: Bearer $token" "${wrk_args[@]}" "$url")
    echo "$wrk_out" | grep -E 'Requests/sec|Latency  |50%|99%|Non-2xx|Socket errors' | sed 's/^/   /'
    completed_total=$((completed_total + $(echo "$wrk_out" | awk '/requests in/ {print $1}')))
  fi
  stop_server
  if [ "$route" = predict ]; then
    lines=$(wc -l < "$work/audit.jsonl")
    echo "audit log: $lines records for $completed_total predictions answered (eddy_loadgen and wrk)"
  fi
done
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
