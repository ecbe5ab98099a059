#!/usr/bin/env python3
"""A fraud service calling Eddy while the stream runs: reads features and asks
for predictions for users seen in the stream, at a steady rate, over HTTP
keep-alive, and reports the latency it saw.

usage: client.py PORT_FILE TOKEN DATA_FILE RATE_PER_SECOND REPORT.json
Stops when the server goes away.
"""
import json
import random
import sys
import time

import requests


def main() -> int:
    port_file, token, data, rate, report = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5]
    for _ in range(600):
        try:
            port = int(open(port_file).read())
            break
        except (OSError, ValueError):
            time.sleep(0.1)
    else:
        print("client.py: the server never wrote its port", file=sys.stderr)
        return 1
    base = f"http://127.0.0.1:{port}"
    # Requests shaped like the transactions about to be authorised.
    txs = []
    with open(data, "rb") as f:
        for i, line in enumerate(f):
            if i % 50:
                continue
            try:
                tx = json.loads(line)
            except ValueError:
                continue
            txs.append(tx)
            if len(txs) >= 5000:
                break
    rng = random.Random(42)
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {token}"
    lat = {"predict": [], "features": []}
    errors = {}  # "status code: message" -> count
    start = time.monotonic()
    n = 0
    while True:
        tx = rng.choice(txs)
        body = {"model": "fraud_gbdt", "key": tx["user_id"],
                "fields": {k: tx[k] for k in ("card_id", "merchant_id", "merchant_category", "device_id",
                                              "country", "channel", "amount", "currency", "ts")
                           if k in tx and tx[k] is not None}}
        try:
            t0 = time.perf_counter()
            if n % 5 == 4:
                r = s.get(f"{base}/v1/features/user_velocity", params={"key": tx["user_id"]}, timeout=5)
                kind = "features"
            else:
                r = s.post(f"{base}/v1/predict", json=body, timeout=5)
                kind = "predict"
            dt = time.perf_counter() - t0
        except requests.RequestException:
            break  # the pipeline finished and the server stopped
        if r.status_code == 200:
            lat[kind].append(dt)
        elif r.status_code != 404:  # a user not in the store yet
            try:
                e = r.json()["error"]
                what = f"{r.status_code} {e['code']}: {e['message']}"
            except (ValueError, KeyError, TypeError):
                what = f"{r.status_code}: {r.text[:200]}"
            errors[what] = errors.get(what, 0) + 1
        n += 1
        ahead = n / rate - (time.monotonic() - start)
        if ahead > 0:
            time.sleep(ahead)

    def pct(xs, q):
        xs = sorted(xs)
        return xs[min(len(xs) - 1, int(q * len(xs)))] * 1e6 if xs else float("nan")

    out = {k: {"count": len(v), "p50_us": pct(v, 0.5), "p99_us": pct(v, 0.99)} for k, v in lat.items()}
    out["errors"] = errors
    out["seconds"] = time.monotonic() - start
    with open(report, "w") as f:
        json.dump(out, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
