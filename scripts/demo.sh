#!/usr/bin/env bash
# Eddy's main job, from a fresh machine: card-fraud detection end to end on
# the embedded default (examples/fraud/, explained in docs/walkthrough.md).
#
#   1. install dependencies (Debian, PyPI) and build Eddy (Release);
#   2. generate two months of card transactions with fraud and chargebacks;
#   3. backfill the older part into the offline history (eddy run);
#   4. build a point-in-time training set (eddy training-set), train a GBDT
#      (XGBoost), register and promote it (eddy model);
#   5. run the newer part as a live stream: features, the GBDT and an online
#      learner score every transaction, chargebacks train the learner, and a
#      client calls the HTTP API while it runs; then print a summary.
#
#   EDDY_DEMO_EVENTS=2000000  transactions to generate (10,000 cardholders)
#   EDDY_DEMO_RATE=25000      live stream rate (transactions per second)
#   EDDY_DEMO_QPS=300         HTTP requests per second from the client
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
EVENTS="${EDDY_DEMO_EVENTS:-2000000}"
RATE="${EDDY_DEMO_RATE:-25000}"
QPS="${EDDY_DEMO_QPS:-300}"
BIN="$ROOT/build/release/bin"
PY="$ROOT/.venv/bin/python"

step() { echo; echo "==> $*"; }

step "installing dependencies"
scripts/install-deps.sh
scripts/python-env.sh >/dev/null
step "building Eddy (Release)"
scripts/build.sh release eddy eddy-datagen

cd examples/fraud
rm -rf state out models
mkdir -p data state out

# 10,000 cardholders paying about 3 times a day: EVENTS / 30,000 days, ending
# about now, so that feature ages and TTLs read naturally.
DAYS=$(( EVENTS / 30000 + 1 ))
step "generating $EVENTS card transactions over $DAYS days, with fraud and chargebacks"
START="$(date -u -d "$DAYS days ago" +%Y-%m-%dT00:00:00Z)"
"$BIN/eddy-datagen" --events "$EVENTS" --users 10000 --merchants 5000 --seed 42 \
  --start "$START" --fraud-rate 0.01 --chargeback-days 0.1:14 --review-days 1:21 \
  --out data/transactions.jsonl --labels data/labels.jsonl
"$PY" prepare.py data 0.7

step "backfill: eddy run history.yaml (fills the offline history)"
"$BIN/eddy" run history.yaml --fresh --progress-interval 2s

step "point-in-time training set: eddy training-set"
"$BIN/eddy" training-set history.yaml --labels data/train_labels.jsonl --key-field user_id \
  --group-keys card_velocity=card_id,merchant_activity=merchant_id \
  --time-field tx_time --id-field tx_id --output data/train.csv

step "training the GBDT (XGBoost, 200 trees of depth 6)"
"$PY" train.py data/train.csv data/fraud_gbdt.json data/train_metrics.json
METRIC="$("$PY" -c 'import json
m = json.load(open("data/train_metrics.json"))
print("--metric=validation_auc=%s" % m["validation_auc"] if "validation_auc" in m else "")')"
"$BIN/eddy" model register models fraud_gbdt data/fraud_gbdt.json \
  --source "examples/fraud/train.py on data/train.csv" --param n_estimators=200 --param max_depth=6 \
  ${METRIC:+"$METRIC"} --data-from "$START" --data-to "$(cat data/cut.txt)"
"$BIN/eddy" model promote models fraud_gbdt 1

step "live: the stream on stdin at $RATE tx/s, served over HTTP while it runs"
TOKEN="$("$PY" -c 'import secrets; print(secrets.token_hex(16))')"
ADMIN="$("$PY" -c 'import secrets; print(secrets.token_hex(16))')"
printf '%s predict,read fraud-service\n%s admin,read,predict,ingest operator\n' "$TOKEN" "$ADMIN" >state/tokens.txt
chmod 600 state/tokens.txt
rm -f state/port
"$PY" client.py state/port "$TOKEN" data/live.jsonl "$QPS" state/client.json &
CLIENT=$!
"$PY" stream.py data/live.jsonl "$RATE" | "$BIN/eddy" run pipeline.yaml --fresh --progress-interval 2s
wait "$CLIENT" || true

step "what the fraud service saw over HTTP (keep-alive, $QPS requests/s)"
"$PY" - <<'PYEOF'
import json
r = json.load(open("state/client.json"))
for kind in ("predict", "features"):
    k = r[kind]
    print(f"  {kind:9s} {k['count']:7,d} requests   p50 {k['p50_us']:8.0f} us   p99 {k['p99_us']:8.0f} us")
errors = r["errors"]
print(f"  errors    {sum(errors.values()):7,d}")
for what, n in sorted(errors.items(), key=lambda kv: -kv[1]):
    print(f"    {n:,d} x {what}")
if errors and all(w.startswith("400 ") for w in errors):
    print("    (the client replays some of the stream's deliberately malformed transactions:")
    print("     the API rejects them and says why)")
print("  (client-side latency includes Python's requests library, ~1 ms a call;")
print("   the summary above shows the time inside Eddy)")
PYEOF
echo
echo "Outputs are in examples/fraud/out/ (features, predictions of both models,"
echo "unmatched labels, audit log, late and dead-letter records)."
echo "docs/walkthrough.md explains each step and how to point Eddy at your own data."
