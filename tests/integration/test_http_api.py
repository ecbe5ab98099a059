"""The HTTP API of `eddy run` (docs/reference/http-api.md) through a real
HTTP client (requests) and raw sockets.

A module-scoped pipeline (`api`) has two http sources (transactions and
labels), a file source, a per-event feature group, a linear model read from a
file (so scores can be computed here by hand), a registry model with three
versions (the third cannot be served), an online learner, feedback, auth
(a token file plus $EDDY_API_TOKENS), the audit log, a 64 KiB body limit and
checkpoints every second (which also flush the outputs). Tests that need
their own clock of events (staleness, feedback), TLS, or a stop and restart
start their own pipeline.
"""
import datetime
import json
import math
import signal
import socket
import subprocess
import threading
import time

import pytest
import requests

from eddy_api import (EddyServer, assert_error, bearer, metric, metric_samples, raw_request,
                      read_jsonl, wait_for)

ADMIN = "admin-token-0123456789abcdef"
SCORER = "scorer-token-0123456789abcdef"
READER = "reader-token-0123456789abcdef"
LOADER = "loader-token-0123456789abcdef"
ENV_TOKEN = "env-token-0123456789abcdef012"
ALL_TOKENS = (ADMIN, SCORER, READER, LOADER, ENV_TOKEN)

# The file model: logistic, so score = sigmoid(bias + sum w_i x_i), missing
# inputs imputed with their mean (0).
LIN = {"bias": -1.5, "weights": {"n_1h": 0.25, "sum_1h": 0.01, "log_amount": 0.5, "amount": -0.002}}
# Registry versions of model `risk` (served as `reg`): score = sigmoid(bias + w * amount).
RISK = {1: (0.0, 0.01), 2: (0.5, -0.01)}
RISK_V4 = (-1.0, {"amount": 0.02})  # registered during the admin test


def linear_file(bias, weights):
    return json.dumps({"format": "eddy.linear", "version": 1, "link": "logistic", "bias": bias,
                       "features": [{"name": k, "weight": w} for k, w in weights.items()]})


def sigmoid(m):
    return 1.0 / (1.0 + math.exp(-m))


def lin_score(n_1h, sum_1h, amount):
    x = {"n_1h": n_1h, "sum_1h": sum_1h, "log_amount": math.log(amount + 1), "amount": amount}
    m = LIN["bias"] + sum(LIN["weights"][k] * (v if v is not None else 0.0) for k, v in x.items())
    return sigmoid(m)


def risk_score(version, amount):
    b, w = RISK[version]
    return sigmoid(b + w * amount)


def iso(offset_s=0.0):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=offset_s)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


TX_SOURCE = """\
  - name: tx
    type: http
    format: jsonl
    path: events/tx.jsonl
    schema:
      fields:
        - {{name: id, type: string, required: true}}
        - {{name: user, type: string}}
        - {{name: amount, type: double, min: 0}}
        - {{name: channel, type: string, allowed: [web, app, pos]}}
        - {{name: ts, type: timestamp, required: true}}
    event_time: ts
    key: user
    id: id
    watermark: {{max_out_of_orderness: {ooo}, allowed_lateness: 0s}}
"""

LABEL_SOURCE = """\
  - name: labels
    type: http
    format: jsonl
    path: events/labels.jsonl
    schema:
      fields:
        - {name: id, type: string, required: true}
        - {name: fraud, type: int, required: true}
        - {name: ts, type: timestamp, required: true}
    event_time: ts
    id: id
"""

USER_GROUP = """\
  - name: user_activity
    source: tx
    ttl: {ttl}
    defaults: {{n_1h: 0, sum_1h: 0}}
    aggregations:
      - {{name: n_1h, fn: count, window: 1h}}
      - {{name: sum_1h, fn: sum, field: amount, window: 1h}}
    derived:
      - {{name: log_amount, expr: "log(amount + 1)"}}
"""


def pipeline(*, ooo="5s", ttl="1h", models="", feedback="", serving="", extra_sources="",
             checkpoint="1s"):
    return (
        "version: 1\nname: api_test\nsources:\n" + TX_SOURCE.format(ooo=ooo) + LABEL_SOURCE
        + extra_sources
        + "features:\n" + USER_GROUP.format(ttl=ttl)
        + ("models:\n" + models if models else "")
        + feedback
        + "serving:\n  port: 0\n  port_file: state/port\n" + serving
        + f"state: {{dir: state, checkpoint_interval: {checkpoint}}}\n"
        + "outputs:\n  features: out/features.jsonl\n  late: out/late.jsonl\n"
        + "  dead_letter: out/dead.jsonl\n"
    )


def tx(id_, user, amount, channel="web", ts=None):
    return {"id": id_, "user": user, "amount": amount, "channel": channel, "ts": ts or iso()}


# ---------------------------------------------------------------------------
# The shared pipeline


@pytest.fixture(scope="module")
def api(eddy, tmp_path_factory):
    d = tmp_path_factory.mktemp("api")
    (d / "lin.json").write_text(linear_file(LIN["bias"], LIN["weights"]))
    for v, (b, w) in RISK.items():
        (d / f"risk{v}.linear.json").write_text(linear_file(b, {"amount": w}))
    # Version 3 reads an input the pipeline does not provide: it registers
    # (the file is valid) but cannot be served.
    (d / "risk3.linear.json").write_text(linear_file(0.0, {"no_such_input": 1.0}))
    for v in (1, 2, 3):
        subprocess.run([eddy, "model", "register", str(d / "registry"), "risk",
                        str(d / f"risk{v}.linear.json")], check=True, capture_output=True)
    subprocess.run([eddy, "model", "promote", str(d / "registry"), "risk", "1"], check=True,
                   capture_output=True)
    (d / "seed.jsonl").write_text(json.dumps(tx("s1", "seed", 1.0, ts="2024-01-01T00:00:00Z")) + "\n")
    tokens = d / "tokens.txt"
    tokens.write_text(f"# tokens\n{ADMIN} all ops\n{SCORER} predict,read fraud-svc\n"
                      f"{READER} read dashboard\n{LOADER} ingest loader\n")
    tokens.chmod(0o600)
    text = pipeline(
        extra_sources="""\
  - name: seed
    format: jsonl
    path: seed.jsonl
    schema:
      fields:
        - {name: id, type: string, required: true}
        - {name: ts, type: timestamp, required: true}
    event_time: ts
    id: id
""",
        models="""\
  - name: lin
    source: tx
    path: lin.json
    output: out/lin.jsonl
  - name: reg
    source: tx
    registry: registry
    registry_name: risk
    output: out/reg.jsonl
  - name: online
    source: tx
    online: {numeric: [n_1h, sum_1h, log_amount], hashed: [channel]}
""",
        feedback="feedback:\n  source: labels\n  label: fraud\n",
        serving="""\
  auth: true
  tokens: tokens.txt
  audit_log: state/audit.jsonl
  max_body_bytes: 64KiB
""")
    srv = EddyServer(eddy, d, text, env={"EDDY_API_TOKENS": f"{ENV_TOKEN} predict,read env-svc"},
                     token=READER)
    srv.start()
    yield srv
    code = srv.stop()
    assert code == 0, srv.stderr
    # Nothing secret ever reached a log.
    for path in (d / "state" / "audit.jsonl", srv.stderr_path):
        text = path.read_text()
        for t in ALL_TOKENS:
            assert t not in text, f"a token leaked into {path}"


def ingest(srv, records, token=LOADER, source="tx"):
    r = srv.post(f"/v1/sources/{source}/events", json=records, headers=bearer(token))
    assert r.status_code == 200, r.text
    return r.json()


def features(srv, group, *keys, token=READER, **params):
    r = srv.get(f"/v1/features/{group}", params={"key": list(keys), **params},
                headers=bearer(token) if token else {})
    assert r.status_code == 200, r.text
    return {x["key"]: x for x in r.json()["results"]}


def wait_count(srv, user, n):
    """Waits until the engine has processed `n` events of `user`."""
    def done():
        f = features(srv, "user_activity", user)[user]
        return f.get("found") and f["features"]["n_1h"] == n
    wait_for(done, what=f"{n} events of {user} processed")


def predict(srv, body, token=SCORER):
    r = srv.post("/v1/predict", json=body, headers=bearer(token))
    assert r.status_code == 200, r.text
    return r.json()


def audit_records(srv):
    # The audit log is flushed every 200 ms.
    time.sleep(0.4)
    return read_jsonl(srv.path("state/audit.jsonl"))


# ---------------------------------------------------------------------------
# Health, readiness, auth


def test_liveness_is_open_and_readiness_needs_read(api):
    r = api.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert api.get("/v2/health/live").json() == {"live": True}
    assert_error(api.get("/readyz"), 401, "unauthenticated")
    r = api.get("/readyz", headers=bearer(READER))
    assert r.status_code == 200 and r.json() == {"status": "ready"}
    assert api.get("/v2/health/ready", headers=bearer(READER)).json() == {"ready": True}


ENDPOINTS = [
    # method, path, body, the role's token, a token without the role
    ("POST", "/v1/sources/tx/events", {"id": "a1", "ts": "2024-01-01T00:00:00Z"}, LOADER, SCORER),
    ("POST", "/v1/feedback", {"id": "a1", "fraud": 0, "ts": "2024-01-01T00:00:00Z"}, LOADER, READER),
    ("GET", "/v1/features/user_activity?key=nobody", None, READER, LOADER),
    ("POST", "/v1/features/user_activity", {"keys": ["nobody"]}, READER, LOADER),
    ("POST", "/v1/predict", {"model": "lin", "fields": {"amount": 1}}, SCORER, READER),
    ("GET", "/v1/models", None, READER, LOADER),
    ("POST", "/v1/models/reg/promote", {"version": 0}, ADMIN, SCORER),
    ("POST", "/v1/models/reg/rollback", {"to": "x"}, ADMIN, SCORER),
    ("GET", "/v1/models/online/snapshot", None, ADMIN, SCORER),
    ("GET", "/v2", None, READER, LOADER),
    ("GET", "/v2/health/ready", None, READER, LOADER),
    ("GET", "/v2/models/lin", None, READER, LOADER),
    ("GET", "/v2/models/lin/ready", None, READER, LOADER),
    ("POST", "/v2/models/lin/infer", {"inputs": []}, SCORER, READER),
    ("GET", "/metrics", None, READER, LOADER),
    ("GET", "/readyz", None, READER, LOADER),
]


@pytest.mark.parametrize("method,path,body,good,bad", ENDPOINTS, ids=[e[1] for e in ENDPOINTS])
def test_every_endpoint_needs_a_token_with_its_role(api, method, path, body, good, bad):
    kw = {"json": body} if body is not None else {}
    r = api.request(method, path, **kw)
    assert_error(r, 401, "unauthenticated")
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert_error(api.request(method, path, headers={"Authorization": "Bearer not-a-real-token-000000"},
                             **kw), 401, "unauthenticated")
    assert_error(api.request(method, path, headers={"Authorization": f"Basic {good}"}, **kw), 401,
                 "unauthenticated")
    msg = assert_error(api.request(method, path, headers=bearer(bad), **kw), 403, "forbidden")
    assert bad not in msg
    # The right role gets past auth (the answer itself may be an error for a
    # deliberately bad body, but not 401/403).
    r = api.request(method, path, headers=bearer(good), **kw)
    assert r.status_code not in (401, 403), r.text


def test_tokens_from_the_environment_are_merged_with_the_file(api):
    body = predict(api, {"model": "lin", "fields": {"amount": 3}}, token=ENV_TOKEN)
    assert body["predictions"][0]["score"] == pytest.approx(lin_score(None, None, 3), rel=1e-12)
    recs = [r for r in audit_records(api) if r["kind"] == "prediction" and r["caller"] == "env-svc"]
    assert recs and recs[-1]["predictions"][0]["fields"] == {"amount": 3}


# ---------------------------------------------------------------------------
# Ingest


def test_ingest_one_and_a_batch_with_per_record_rejects(api):
    t = iso()
    assert ingest(api, tx("i1", "ing-1", 10.0, ts=t)) == {"received": 1, "accepted": 1,
                                                        "rejected": []}
    batch = [
        tx("i2", "ing-1", 20.0, ts=t),
        {"id": "i3", "user": "ing-2", "amount": "lots", "ts": t},       # wrong type
        {"user": "ing-2", "amount": 1.0, "ts": t},                       # no id
        tx("i4", "ing-2", 5.0, channel="fax", ts=t),                     # not an allowed value
        tx("i5", "ing-2", -1.0, ts=t),                                   # below min
        tx("i6", "ing-2", 7.0, ts=t),
    ]
    body = ingest(api, batch)
    assert body["received"] == 6 and body["accepted"] == 2
    rej = {x["index"]: x for x in body["rejected"]}
    assert sorted(rej) == [1, 2, 3, 4]
    assert (rej[1]["error"], rej[1]["field"]) == ("wrong_type", "amount")
    assert (rej[2]["error"], rej[2]["field"]) == ("missing_required", "id")
    assert rej[3]["field"] == "channel" and rej[4]["field"] == "amount"
    assert all(x["reason"] for x in rej.values())
    # JSON lines work too.
    lines = "\n".join(json.dumps(tx(f"i{7 + k}", "ing-3", 1.0, ts=t)) for k in range(3)) + "\n"
    r = api.post("/v1/sources/tx/events", data=lines, headers=bearer(LOADER))
    assert r.json() == {"received": 3, "accepted": 3, "rejected": []}
    # The engine processes the accepted ones...
    wait_count(api, "ing-1", 2)
    wait_count(api, "ing-2", 1)
    wait_count(api, "ing-3", 3)
    # ... and dead-letters the rejected ones with the same reasons: nothing is
    # lost (they are in the event log too).
    def dead():
        rows = [d for d in read_jsonl(api.path("out/dead.jsonl")) if '"ing-2"' in d["raw"]]
        return rows if len(rows) == 4 else None
    rows = wait_for(dead, timeout=15, what="4 dead letters")
    assert sorted(d["error"] for d in rows) == sorted(x["error"] for x in rej.values())
    assert all(d["source"] == "tx" and d["location"].startswith("events/tx.jsonl:") for d in rows)
    log = api.path("events/tx.jsonl").read_text().splitlines()
    assert sum('"ing-' in line for line in log) == 10


def test_ingest_errors(api):
    h = bearer(LOADER)
    assert_error(api.post("/v1/sources/nope/events", json={}, headers=h), 404, "not_found")
    msg = assert_error(api.post("/v1/sources/seed/events", json={"id": "x", "ts": iso()}, headers=h),
                       409, "conflict")
    assert "type: http" in msg
    assert_error(api.post("/v1/sources/tx/events", data=b"", headers=h), 400, "bad_json")
    assert_error(api.post("/v1/sources/tx/events", data=b'[{"id":"x"}', headers=h), 400, "bad_json")
    assert_error(api.post("/v1/sources/tx/events", data=b'[{"id":"x"}] trailing', headers=h), 400,
                 "bad_json")
    # A record that is not JSON at all is a per-record reject, not a failure.
    body = api.post("/v1/sources/tx/events", data=b"{not json}\n", headers=h).json()
    assert body["accepted"] == 0 and body["rejected"][0]["index"] == 0


def test_oversize_body_is_413_and_the_server_goes_on(api):
    big = [tx(f"big{i}", "big", 1.0) for i in range(1000)]  # ~90 KiB > 64 KiB
    r = api.post("/v1/sources/tx/events", json=big, headers=bearer(LOADER))
    assert_error(r, 413, "payload_too_large")
    r = api.post("/v1/predict", data=b'{"model":"lin","fields":{"amount":1},"pad":"' + b"x" * 70000
                 + b'"}', headers=bearer(SCORER))
    assert_error(r, 413, "payload_too_large")
    assert api.get("/healthz").status_code == 200


# ---------------------------------------------------------------------------
# Features


def test_features_get_and_post_several_keys(api):
    t = iso()
    ingest(api, [tx("f1", "feat-a", 10.0, ts=t), tx("f2", "feat-a", 32.0, ts=t),
                 tx("f3", "feat-b", 4.0, ts=t)])
    wait_count(api, "feat-a", 2)
    wait_count(api, "feat-b", 1)
    got = features(api, "user_activity", "feat-a", "feat-b", "feat-none")
    a = got["feat-a"]
    assert a["found"] is True and a["stale"] is False and a["defaulted"] is False
    assert a["features"] == {"n_1h": 2, "sum_1h": 42.0, "log_amount": pytest.approx(math.log(33))}
    assert 0 <= a["age_ms"] < 60000
    assert a["event_time"].startswith(t[:19])
    assert set(a) == {"key", "found", "stale", "defaulted", "age_ms", "event_time", "computed_at",
                      "features"}
    assert got["feat-b"]["features"]["n_1h"] == 1
    assert got["feat-none"]["error"]["code"] == "not_found"
    # POST: the same, as JSON.
    r = api.post("/v1/features/user_activity", json={"keys": ["feat-b", "feat-a"]},
                 headers=bearer(READER))
    results = r.json()["results"]
    assert [x["key"] for x in results] == ["feat-b", "feat-a"]
    assert results[1]["features"] == a["features"]
    # A key with characters that need escaping in a URL.
    ingest(api, tx("f4", "feat c/&=?", 1.0))
    wait_count(api, "feat c/&=?", 1)


def test_features_errors(api):
    h = bearer(READER)
    assert_error(api.get("/v1/features/nope?key=a", headers=h), 404, "not_found")
    assert_error(api.get("/v1/features/user_activity", headers=h), 400, "invalid_argument")
    assert_error(api.get("/v1/features/user_activity?key=a&policy=maybe", headers=h), 400,
                 "invalid_argument")
    assert_error(api.post("/v1/features/user_activity", data=b"{", headers=h), 400, "bad_json")
    assert_error(api.post("/v1/features/user_activity", json={"keys": [{}]}, headers=h), 400,
                 "invalid_argument")
    # Regression: a bad percent-escape in the query was a 500 (std::stoi threw).
    # (A raw request: requests would re-quote it as %25zz.)
    status, _, body = raw_request(api.port, b"GET /v1/features/user_activity?key=%zz HTTP/1.1\r\n"
                                  b"Host: x\r\nAuthorization: Bearer " + READER.encode() + b"\r\n\r\n")
    assert status == 400 and json.loads(body)["error"]["code"] == "bad_request", body


# ---------------------------------------------------------------------------
# Predict


def test_predict_equals_the_stream_and_a_hand_computed_score(api):
    t = iso()
    ingest(api, [tx("p1", "pred-1", 50.0, ts=t), tx("p2", "pred-1", 30.0, channel="app", ts=t)])
    wait_count(api, "pred-1", 2)
    body = predict(api, {"model": "lin", "key": "pred-1", "fields": {"amount": 30.0,
                                                                     "channel": "app"}})
    assert body["model"] == "lin" and body["version"] == 1
    (p,) = body["predictions"]
    assert p["key"] == "pred-1"
    expected = lin_score(2, 80.0, 30.0)
    assert p["score"] == pytest.approx(expected, rel=1e-12)
    assert p["decision"] == (p["score"] >= 0.5)
    assert p["freshness"]["user_activity"]["found"] is True
    assert p["freshness"]["user_activity"]["stale"] is False
    assert "missing_inputs" not in p
    lat = body["latency_us"]
    assert set(lat) == {"lookup", "compute", "inference", "total"}
    assert all(isinstance(v, int) and v >= 0 for v in lat.values())
    assert lat["lookup"] + lat["compute"] + lat["inference"] <= lat["total"] + 3
    # The stream scored event p2 with the same inputs: the same bits.
    def stream_row():
        rows = [x for x in read_jsonl(api.path("out/lin.jsonl")) if x["id"] == "p2"]
        return rows[0] if rows else None
    row = wait_for(stream_row, timeout=15, what="the stream's prediction of p2")
    assert row["score"] == p["score"] and row["version"] == 1 and row["key"] == "pred-1"
    # Request fields change only what depends on them (the derived feature and
    # the raw input), not the stored aggregates.
    p2 = predict(api, {"model": "lin", "key": "pred-1", "fields": {"amount": 5.0}})
    assert p2["predictions"][0]["score"] == pytest.approx(lin_score(2, 80.0, 5.0), rel=1e-12)
    # The audit record has the inputs, features, version and output.
    rec = [r for r in audit_records(api) if r["kind"] == "prediction"
           and r.get("model") == "lin" and r["predictions"][0]["fields"].get("user") == "pred-1"]
    assert rec[0]["caller"] == "fraud-svc" and rec[0]["version"] == 1
    assert rec[0]["predictions"][0]["features"]["n_1h"] == 2
    assert rec[0]["predictions"][0]["output"] == p["score"]


def test_predict_several_keys_and_a_new_key(api):
    t = iso()
    ingest(api, [tx("k1", "keys-a", 1.0, ts=t), tx("k2", "keys-b", 2.0, ts=t),
                 tx("k3", "keys-b", 3.0, ts=t)])
    wait_count(api, "keys-b", 2)
    body = predict(api, {"model": "lin", "keys": ["keys-a", "keys-b", "keys-new"],
                         "fields": {"amount": 10.0}})
    ps = body["predictions"]
    assert [p["key"] for p in ps] == ["keys-a", "keys-b", "keys-new"]
    assert ps[0]["score"] == pytest.approx(lin_score(1, 1.0, 10.0), rel=1e-12)
    assert ps[1]["score"] == pytest.approx(lin_score(2, 5.0, 10.0), rel=1e-12)
    # A key never seen (a new user) is scored with its features missing, and
    # says so; it is not an error (regression: it was a 404 for the request).
    assert ps[2]["freshness"]["user_activity"]["found"] is False
    assert ps[2]["missing_inputs"] == ["n_1h", "sum_1h"]
    assert ps[2]["score"] == pytest.approx(lin_score(None, None, 10.0), rel=1e-12)
    # Under `default` the group's defaults are served instead (0 and 0 here).
    d = predict(api, {"model": "lin", "key": "keys-new", "policy": "default",
                      "fields": {"amount": 10.0}})["predictions"][0]
    assert "missing_inputs" not in d and d["freshness"]["user_activity"]["found"] is False
    # Under `reject` a missing key fails the request.
    r = api.post("/v1/predict", json={"model": "lin", "key": "keys-new", "policy": "reject",
                                      "fields": {"amount": 1}}, headers=bearer(SCORER))
    assert_error(r, 404, "not_found")


def test_predict_errors(api):
    h = bearer(SCORER)
    cases = [
        (b"{bad json", 400, "bad_json"),
        (b"[1, 2]", 400, "bad_json"),
        (b"\xff\xfe", 400, "bad_json"),
        (json.dumps({"key": "u"}).encode(), 400, "invalid_argument"),
        (json.dumps({"model": 7, "key": "u"}).encode(), 400, "invalid_argument"),
        (json.dumps({"model": "nope", "key": "u"}).encode(), 404, "not_found"),
        (json.dumps({"model": "lin"}).encode(), 400, "invalid_argument"),
        (json.dumps({"model": "lin", "key": "u", "fields": {"amount": "x"}}).encode(), 400,
         "invalid_argument"),
        (json.dumps({"model": "lin", "key": "u", "fields": {"colour": 1}}).encode(), 400,
         "invalid_argument"),
        (json.dumps({"model": "lin", "key": "u", "fields": [1]}).encode(), 400, "invalid_argument"),
        (json.dumps({"model": "lin", "key": 7}).encode(), 400, "invalid_argument"),
        (json.dumps({"model": "lin", "key": ["a", "b"]}).encode(), 400, "invalid_argument"),
        (json.dumps({"model": "lin", "keys": "a"}).encode(), 400, "invalid_argument"),
        (json.dumps({"model": "lin", "key": "u", "policy": 3}).encode(), 400, "invalid_argument"),
        (json.dumps({"model": "lin", "key": "u", "policy": "maybe"}).encode(), 400,
         "invalid_argument"),
    ]
    with requests.Session() as s:
        for body, status, code in cases:
            r = s.post(api.url("/v1/predict"), data=body, headers=h, timeout=10)
            assert_error(r, status, code)
    assert api.get("/healthz").status_code == 200


# ---------------------------------------------------------------------------
# Open Inference Protocol


def test_oip_server_and_model_metadata(api):
    h = bearer(READER)
    assert api.get("/v2", headers=h).json() == {"name": "eddy", "version": "0.1.0",
                                                "extensions": []}
    meta = api.get("/v2/models/lin", headers=h).json()
    assert meta["name"] == "lin" and meta["versions"] == ["1"]
    assert meta["platform"].startswith("eddy/")
    assert [i["name"] for i in meta["inputs"]] == list(LIN["weights"])
    assert all(i["datatype"] == "FP64" and i["shape"] == [-1] for i in meta["inputs"])
    assert meta["outputs"] == [{"name": "output-0", "datatype": "FP64", "shape": [-1, 1]}]
    assert api.get("/v2/models/lin/ready", headers=h).json() == {"name": "lin", "ready": True}
    assert api.get("/v2/models/lin/versions/1", headers=h).json() == meta
    assert api.get("/v2/models/lin/versions/1/ready", headers=h).status_code == 200
    assert_error(api.get("/v2/models/lin/versions/7", headers=h), 404, "not_found")
    assert_error(api.get("/v2/models/lin/versions/7/ready", headers=h), 404, "not_found")
    assert_error(api.get("/v2/models/nope", headers=h), 404, "not_found")
    online = api.get("/v2/models/online", headers=h).json()
    assert {"name": "channel", "datatype": "BYTES", "shape": [-1]} in online["inputs"]


def test_oip_infer(api):
    h = bearer(SCORER)
    rows = [[1, 10.0, math.log(11), 10.0], [3, 300.0, math.log(101), 100.0]]
    expected = [sigmoid(LIN["bias"] + sum(w * x for w, x in zip(LIN["weights"].values(), row)))
                for row in rows]
    # One [N, F] tensor in the model's input order.
    r = api.post("/v2/models/lin/infer", headers=h, json={
        "id": "req-1",
        "inputs": [{"name": "input-0", "shape": [2, 4], "datatype": "FP64",
                    "data": [x for row in rows for x in row]}]})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["model_name"] == "lin" and out["model_version"] == "1" and out["id"] == "req-1"
    (o,) = out["outputs"]
    assert o["name"] == "output-0" and o["datatype"] == "FP64" and o["shape"] == [2, 1]
    assert o["data"] == pytest.approx(expected, rel=1e-12)
    # One tensor per input, by name; an input left out is missing (its mean).
    names = list(LIN["weights"])
    tensors = [{"name": n, "shape": [2], "datatype": "FP64", "data": [row[i] for row in rows]}
               for i, n in enumerate(names)]
    r = api.post("/v2/models/lin/versions/1/infer", headers=h, json={"inputs": tensors})
    assert r.json()["outputs"][0]["data"] == pytest.approx(expected, rel=1e-12)
    r = api.post("/v2/models/lin/infer", headers=h, json={"inputs": tensors[:2] + [
        {"name": "amount", "shape": [2, 1], "datatype": "FP64", "data": [None, 100.0]}]})
    partial = [sigmoid(LIN["bias"] + 0.25 * 1 + 0.01 * 10.0),
               sigmoid(LIN["bias"] + 0.25 * 3 + 0.01 * 300.0 - 0.002 * 100.0)]
    assert r.json()["outputs"][0]["data"] == pytest.approx(partial, rel=1e-12)
    # One tensor named after an input is that input alone, not an [N, F] matrix.
    r = api.post("/v2/models/lin/infer", headers=h, json={"inputs": [
        {"name": "amount", "shape": [4], "datatype": "FP64", "data": [0, 10, 20, 30]}]})
    assert r.json()["outputs"][0]["shape"] == [4, 1]
    assert r.json()["outputs"][0]["data"] == pytest.approx(
        [sigmoid(LIN["bias"] - 0.002 * a) for a in (0, 10, 20, 30)], rel=1e-12)
    # The audit log has each inference: inputs, version, outputs (valid JSON).
    recs = [x for x in audit_records(api) if x.get("protocol") == "v2"]
    assert recs[-4]["model"] == "lin" and recs[-4]["version"] == 1 and recs[-4]["rows"] == 2
    assert recs[-4]["inputs"] == rows and recs[-4]["caller"] == "fraud-svc"
    assert recs[-4]["outputs"] == pytest.approx(expected, rel=1e-12)
    assert recs[-2]["inputs"][0][3] is None
    assert recs[-1]["rows"] == 4 and recs[-1]["inputs"][1] == [None, None, None, 10]
    # Errors.
    assert_error(api.post("/v2/models/lin/versions/2/infer", headers=h, json={"inputs": tensors}),
                 404, "not_found")
    assert_error(api.post("/v2/models/nope/infer", headers=h, json={"inputs": tensors}), 404,
                 "not_found")
    bad = [
        b"{",
        json.dumps({"inputs": []}).encode(),
        json.dumps({"inputs": [{"name": "x", "data": [1, 2, 3]}]}).encode(),  # not whole rows
        json.dumps({"inputs": [{"name": "x", "data": ["a", "b", "c", "d"]}]}).encode(),
        json.dumps({"inputs": [{"name": "n_1h", "data": [1]}, {"name": "amount", "data": [1, 2]}]}).encode(),
        json.dumps({"inputs": [{"data": [1]}, {"name": "amount", "data": [1]}]}).encode(),
        json.dumps({"inputs": [{"name": "n_1h", "datatype": "BYTES", "data": ["a"]},
                               {"name": "amount", "data": [1]}]}).encode(),
        # The shape must describe the data (regression: it was ignored, so an
        # [N, 2] tensor was silently read as rows of 4).
        json.dumps({"inputs": [{"name": "x", "shape": [4, 2], "data": [1] * 8}]}).encode(),
        json.dumps({"inputs": [{"name": "x", "shape": [3, 4], "data": [1] * 8}]}).encode(),
        json.dumps({"inputs": [{"name": "x", "shape": "2x4", "data": [1] * 8}]}).encode(),
        json.dumps({"inputs": [{"name": "amount", "shape": [3], "data": [1, 2]}]}).encode(),
    ]
    for body in bad:
        r = api.post("/v2/models/lin/infer", headers=h, data=body)
        assert r.status_code == 400, (body, r.text)
        assert r.json()["error"]["code"] in ("bad_json", "invalid_argument")


def test_oip_infer_with_hashed_strings(api):
    r = api.post("/v2/models/online/infer", headers=bearer(SCORER), json={"inputs": [
        {"name": "n_1h", "shape": [2], "datatype": "FP64", "data": [1, 2]},
        {"name": "channel", "shape": [2], "datatype": "BYTES", "data": ["web", "app"]}]})
    assert r.status_code == 200, r.text
    assert r.json()["outputs"][0]["shape"] == [2, 1]
    rec = [x for x in audit_records(api) if x.get("protocol") == "v2"][-1]
    assert rec["model"] == "online" and rec["hashed"] == {"channel": ["web", "app"]}


# ---------------------------------------------------------------------------
# Admin: the registry through the API


def models_by_name(api):
    r = api.get("/v1/models", headers=bearer(READER))
    assert r.status_code == 200, r.text
    return {m["name"]: m for m in r.json()["models"]}


def reg_score(api, amount=100.0):
    p = predict(api, {"model": "reg", "fields": {"amount": amount}})
    return p["version"], p["predictions"][0]["score"]


def test_admin_list_promote_and_rollback(api):
    ms = models_by_name(api)
    assert ms["lin"]["kind"] == "file" and ms["lin"]["version"] == 1
    assert ms["online"]["kind"] == "online"
    reg = ms["reg"]
    assert reg["kind"] == "registry" and reg["registry_name"] == "risk"
    assert reg["registry_versions"] == [1, 2, 3] and reg["live"] == 1 and reg["version"] == 1
    assert reg_score(api) == (1, pytest.approx(risk_score(1, 100.0), rel=1e-12))

    # Promote while predictions run: every answer is wholly one version, the
    # old one until the promote starts and the new one once it has answered.
    stop = threading.Event()
    seen, wrong = [], []  # (sent, received, version)

    def hammer():
        with requests.Session() as s:
            while not stop.is_set():
                sent = time.monotonic()
                r = s.post(api.url("/v1/predict"), json={"model": "reg", "fields": {"amount": 100.0}},
                           headers=bearer(SCORER), timeout=10)
                received = time.monotonic()
                if r.status_code != 200:
                    wrong.append(r.text)
                    continue
                b = r.json()
                v, score = b["version"], b["predictions"][0]["score"]
                seen.append((sent, received, v))
                if v not in RISK or abs(score - risk_score(v, 100.0)) > 1e-12:
                    wrong.append(b)

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    for t in threads:
        t.start()
    wait_for(lambda: len(seen) >= 20, what="predictions before the promote")
    promote_sent = time.monotonic()
    r = api.post("/v1/models/reg/promote", json={"version": 2}, headers=bearer(ADMIN))
    promote_answered = time.monotonic()
    assert r.status_code == 200, r.text
    assert r.json() == {"model": "reg", "live": 2}
    n = len(seen)
    wait_for(lambda: len(seen) >= n + 20, what="predictions after the promote")
    stop.set()
    for t in threads:
        t.join()
    assert not wrong, wrong[:3]
    assert all(v == 1 for sent, received, v in seen if received < promote_sent)
    assert all(v == 2 for sent, received, v in seen if sent > promote_answered)
    assert {v for _, _, v in seen} == {1, 2}
    assert models_by_name(api)["reg"]["live"] == 2

    # A version that cannot be loaded is not promoted: the old one keeps serving.
    r = api.post("/v1/models/reg/promote", json={"version": 3}, headers=bearer(ADMIN))
    assert "no_such_input" in assert_error(r, 409, "conflict")
    assert reg_score(api) == (2, pytest.approx(risk_score(2, 100.0), rel=1e-12))
    assert models_by_name(api)["reg"]["live"] == 2
    assert_error(api.post("/v1/models/reg/promote", json={"version": 9}, headers=bearer(ADMIN)),
                 404, "not_found")
    assert_error(api.post("/v1/models/reg/promote", json={"version": "2"}, headers=bearer(ADMIN)),
                 400, "invalid_argument")
    assert_error(api.post("/v1/models/lin/promote", json={"version": 1}, headers=bearer(ADMIN)),
                 409, "conflict")
    assert_error(api.post("/v1/models/nope/promote", json={"version": 1}, headers=bearer(ADMIN)),
                 404, "not_found")

    # Roll back (to the previous live version).
    r = api.post("/v1/models/reg/rollback", headers=bearer(ADMIN))
    assert r.status_code == 200 and r.json() == {"model": "reg", "live": 1}
    assert reg_score(api)[0] == 1
    r = api.post("/v1/models/reg/promote", json={"version": 2}, headers=bearer(ADMIN))
    assert r.status_code == 200 and r.json()["live"] == 2
    r = api.post("/v1/models/reg/rollback", json={"to": 1}, headers=bearer(ADMIN))
    assert r.status_code == 200 and r.json()["live"] == 1
    assert api.get("/v2/models/reg", headers=bearer(READER)).json()["versions"] == ["1"]

    # A rollback to a version that cannot be loaded fails and changes nothing:
    # the registry's live version is put back (regression: it stayed on the
    # unloadable version, which the next start would have tried to load).
    d = api.path("")
    (d / "risk4.linear.json").write_text(linear_file(*RISK_V4))
    subprocess.run([api.eddy, "model", "register", str(d / "registry"), "risk",
                    str(d / "risk4.linear.json")], check=True, capture_output=True)
    r = api.post("/v1/models/reg/promote", json={"version": 4}, headers=bearer(ADMIN))
    assert r.json() == {"model": "reg", "live": 4}
    r = api.post("/v1/models/reg/rollback", json={"to": 3}, headers=bearer(ADMIN))
    assert "no_such_input" in assert_error(r, 409, "conflict")
    assert_error(api.post("/v1/models/reg/rollback", json={"to": 4}, headers=bearer(ADMIN)), 400,
                 "invalid_argument")
    assert models_by_name(api)["reg"]["live"] == 4
    assert reg_score(api)[0] == 4

    # Every admin action is in the audit log with its caller and outcome.
    admin = [x for x in audit_records(api) if x["kind"] == "admin"]
    # (The role test took a snapshot of the learner, which has learned nothing.)
    snaps = [x for x in admin if x["action"] == "snapshot"]
    assert snaps and all(x["model"] == "online" and x["updates"] == 0 for x in snaps)
    admin = [x for x in admin if x["action"] != "snapshot"]
    assert [(x["action"], x["version"], x["ok"]) for x in admin] == [
        ("promote", 2, True), ("promote", 3, False), ("promote", 9, False),
        ("rollback", 1, True), ("promote", 2, True), ("rollback", 1, True),
        ("promote", 4, True), ("rollback", 3, False), ("rollback", 4, False)]
    assert {x["caller"] for x in admin} == {"ops"} and all(x["model"] == "reg" for x in admin)
    # The registry on disk agrees (what `eddy model` shows).
    hist = (api.path("registry") / "risk" / "history.jsonl").read_text().splitlines()
    assert [(json.loads(h)["action"], json.loads(h)["version"]) for h in hist] == [
        ("promote", 1), ("promote", 2), ("rollback", 1), ("promote", 2), ("rollback", 1),
        ("promote", 4), ("rollback", 3), ("promote", 4)]


# ---------------------------------------------------------------------------
# Audit, metrics, slow clients


def test_audit_log_has_every_prediction(api):
    before = [x for x in audit_records(api) if x["kind"] == "prediction"]
    n = 0
    with requests.Session() as s:
        for i in range(100):
            r = s.post(api.url("/v1/predict"), headers=bearer(SCORER), timeout=10,
                       json={"model": "lin", "key": f"aud-{i}", "fields": {"amount": float(i)}})
            assert r.status_code == 200
            n += 1
        # A failed request is not a prediction.
        s.post(api.url("/v1/predict"), headers=bearer(SCORER), json={"model": "nope", "key": "x"})
    recs = audit_records(api)
    after = [x for x in recs if x["kind"] == "prediction"]
    new = after[len(before):]
    assert len(new) == n
    assert [x["predictions"][0]["fields"]["user"] for x in new] == [f"aud-{i}" for i in range(n)]
    assert all(x["caller"] == "fraud-svc" and x["model"] == "lin" and x["v"] == 1 for x in new)
    seqs = [x["seq"] for x in recs]
    assert seqs == list(range(len(recs)))
    assert (api.path("state/audit.jsonl").stat().st_mode & 0o777) == 0o600


def test_metrics_have_engine_serving_and_http_series(api):
    t = iso()
    ingest(api, [tx("m1", "met-1", 12.0, ts=t), {"id": "m2", "ts": t, "amount": "x"}])
    wait_count(api, "met-1", 1)
    predict(api, {"model": "lin", "key": "met-1", "fields": {"amount": 1.0}})
    features(api, "user_activity", "met-1")

    def ready():
        text = api.metrics()
        s = metric_samples(text, "eddy_dead_letters_total")
        return text if s.get('source="tx",error="wrong_type"', 0) >= 1 else None
    text = wait_for(ready, what="the dead letter counted")
    rec = metric_samples(text, "eddy_source_records_total")
    for outcome in ("read", "accepted", "late", "dead_letter", "filtered"):
        assert f'source="tx",outcome="{outcome}"' in rec
    assert rec['source="tx",outcome="accepted"'] >= 10
    assert rec['source="tx",outcome="dead_letter"'] >= 1
    assert rec['source="seed",outcome="accepted"'] == 1
    lag = metric_samples(text, "eddy_watermark_lag_seconds")
    assert 0 <= lag['source="tx"'] < 3600
    assert metric(text, 'eddy_model_score_count{model="lin"}') >= 10
    assert metric(text, 'eddy_model_score_bucket{model="lin",le="+Inf"}') >= 10
    for stage in ("lookup", "compute", "inference", "total"):
        assert metric(text, f'eddy_predict_stage_seconds_count{{stage="{stage}"}}') >= 1
    reads = metric_samples(text, "eddy_feature_reads_total")
    assert reads['result="fresh"'] >= 1 and 'result="missing"' in reads
    assert metric(text, "eddy_feature_age_seconds_count") >= 1
    assert metric(text, 'eddy_feature_group_keys{group="user_activity"}') >= 1
    assert metric(text, 'eddy_model_predictions_total{model="lin",decision="positive"}') is not None
    assert metric(text, 'eddy_feedback_labels_total{outcome="matched"}') is not None
    assert metric(text, 'eddy_http_requests_total{method="POST",route="/v1/predict",code="200"}') >= 1
    assert metric(text, 'eddy_http_request_duration_seconds_count{method="POST",route="/v1/predict"}') >= 1
    assert metric(text, 'eddy_http_auth_failures_total{reason="forbidden"}') >= 1
    assert metric(text, "eddy_audit_records_total") >= 1
    assert metric(text, "process_resident_memory_bytes") > 0
    # Every line is a comment or `series value`.
    for line in text.splitlines():
        assert line.startswith("# HELP ") or line.startswith("# TYPE ") or len(line.rsplit(" ", 1)) == 2


def test_slow_client_is_dropped_without_stalling_others(api):
    sock = socket.create_connection(("127.0.0.1", api.port), timeout=30)
    head = (b"POST /v1/predict HTTP/1.1\r\nHost: slow\r\nAuthorization: Bearer " + SCORER.encode()
            + b"\r\nContent-Length: 40\r\n\r\n")
    started = time.monotonic()
    dropped = []

    def trickle():
        try:
            for b in head + b'{"model":"lin"':
                sock.sendall(bytes([b]))
                time.sleep(0.25)
        except OSError:
            pass
        sock.settimeout(10)
        try:
            while sock.recv(4096):
                pass
        except OSError:
            pass
        dropped.append(time.monotonic() - started)

    t = threading.Thread(target=trickle)
    t.start()
    worst = 0.0
    with requests.Session() as s:
        while t.is_alive():
            t0 = time.monotonic()
            r = s.post(api.url("/v1/predict"), headers=bearer(SCORER), timeout=10,
                       json={"model": "lin", "key": "slow-ok", "fields": {"amount": 1}})
            worst = max(worst, time.monotonic() - t0)
            assert r.status_code == 200
            time.sleep(0.01)
    t.join()
    assert worst < 1.0, f"a fast client waited {worst:.3f}s behind a slow one"
    # The read timeout (10 s for the whole request) drops it.
    assert dropped and 9 <= dropped[0] <= 20, dropped
    text = api.metrics()
    assert metric(text, 'eddy_http_connection_closes_total{reason="read_timeout"}') >= 1


def test_many_idle_half_requests_do_not_stall_the_server(api):
    socks = [socket.create_connection(("127.0.0.1", api.port)) for _ in range(100)]
    for s in socks:
        s.sendall(b"POST /v1/predict HTTP/1.1\r\nHost: x\r\n")
    t0 = time.monotonic()
    with requests.Session() as s:
        for i in range(50):
            r = s.post(api.url("/v1/predict"), headers=bearer(SCORER), timeout=10,
                       json={"model": "lin", "fields": {"amount": i}})
            assert r.status_code == 200
    assert time.monotonic() - t0 < 3.0
    for s in socks:
        s.close()


# ---------------------------------------------------------------------------
# Pipelines of their own


def lin_server(eddy, directory, **pipeline_args):
    """A server (not started) of a pipeline scoring tx with the `lin` model."""
    (directory / "lin.json").write_text(linear_file(LIN["bias"], LIN["weights"]))
    return EddyServer(eddy, directory, pipeline(models="""\
  - name: lin
    source: tx
    path: lin.json
""", **pipeline_args))


def test_sigusr1_reopens_the_audit_log_after_rotation(eddy, tmp_path):
    """logrotate's way: rename the file, signal, and the next records go to a
    new file at the path; nothing is lost between the two."""
    srv = lin_server(eddy, tmp_path, serving="  auth: false\n  audit_log: audit.jsonl\n").start()
    try:
        def predict_keys(keys):
            for k in keys:
                r = srv.post("/v1/predict", json={"model": "lin", "key": k, "fields": {"amount": 1.0}})
                assert r.status_code == 200, r.text
        predict_keys([f"before-{i}" for i in range(20)])
        log = tmp_path / "audit.jsonl"
        rotated = tmp_path / "audit.jsonl.1"
        log.rename(rotated)
        srv.proc.send_signal(signal.SIGUSR1)
        wait_for(log.exists, what="the audit log reopened at its path")
        predict_keys([f"after-{i}" for i in range(20)])
    finally:
        assert srv.stop() == 0, srv.stderr
    assert "reopened the audit log" in srv.stderr

    def keys(path):
        return [x["predictions"][0]["fields"]["user"] for x in read_jsonl(path)
                if x["kind"] == "prediction"]
    old, new = keys(rotated), keys(log)
    # Records buffered when the signal came may be in either file; together
    # they are every prediction, once, in order.
    assert old + new == [f"before-{i}" for i in range(20)] + [f"after-{i}" for i in range(20)]
    assert new[-20:] == [f"after-{i}" for i in range(20)]  # made after the reopen
    seqs = [x["seq"] for x in read_jsonl(rotated) + read_jsonl(log)]
    assert seqs == list(range(len(seqs)))
    assert (log.stat().st_mode & 0o777) == 0o600


def test_staleness_flags_and_policies_per_request(eddy, tmp_path):
    srv = lin_server(eddy, tmp_path, ttl="2s", serving="  auth: false\n").start()
    try:
        # "old" is 60 s old when it arrives (its event time is before the TTL),
        # "new" is fresh; both arrive in event-time order.
        r = srv.post("/v1/sources/tx/events", json=[tx("o1", "old", 5.0, ts=iso(-60)),
                                                     tx("n1", "new", 7.0, ts=iso())])
        assert r.json()["accepted"] == 2
        wait_for(lambda: all(x.get("found") for x in features(srv, "user_activity", "old", "new",
                                                                token=None).values()))

        got = features(srv, "user_activity", "old", "new", token=None)   # the group's `flag`
        assert got["old"]["stale"] is True and got["old"]["features"]["n_1h"] == 1
        assert got["old"]["age_ms"] >= 59000
        assert got["new"]["stale"] is False and got["new"]["features"]["n_1h"] == 1
        got = features(srv, "user_activity", "old", "new", "none", token=None, policy="default")
        assert got["old"]["defaulted"] is True and got["old"]["stale"] is True
        assert got["old"]["features"] == {"n_1h": 0, "sum_1h": 0, "log_amount": None}
        assert got["new"]["defaulted"] is False and got["new"]["features"]["n_1h"] == 1
        assert got["none"]["found"] is False and got["none"]["defaulted"] is True
        got = features(srv, "user_activity", "old", "new", token=None, policy="reject")
        assert got["old"]["error"]["code"] == "conflict"
        assert "stale" in got["old"]["error"]["message"]
        assert got["new"]["features"]["n_1h"] == 1
        r = srv.post("/v1/features/user_activity", json={"keys": ["old"], "policy": "default"})
        assert r.json()["results"][0]["defaulted"] is True
        # (This pipeline has no feedback section.)
        assert_error(srv.post("/v1/feedback", json={"id": "x"}), 404, "not_found")

        def pred(key, policy=None):
            body = {"model": "lin", "key": key, "fields": {"amount": 1.0}}
            if policy:
                body["policy"] = policy
            return srv.post("/v1/predict", json=body)
        p = pred("old").json()["predictions"][0]
        assert p["freshness"]["user_activity"]["stale"] is True
        assert p["score"] == pytest.approx(lin_score(1, 5.0, 1.0), rel=1e-12)
        p = pred("old", "default").json()["predictions"][0]
        assert p["score"] == pytest.approx(lin_score(0, 0, 1.0), rel=1e-12)
        assert_error(pred("old", "reject"), 409, "conflict")
        assert pred("new", "reject").status_code == 200
        # The stale reads are counted.
        text = srv.metrics()
        assert metric(text, 'eddy_feature_reads_total{result="stale"}') >= 4
        # And "new" goes stale 2 s after its event time.
        time.sleep(2.2)
        assert features(srv, "user_activity", "new", token=None)["new"]["stale"] is True
    finally:
        assert srv.stop() == 0, srv.stderr


def test_predict_with_a_multi_field_key(eddy, tmp_path):
    text = pipeline(serving="  auth: false\n", models="""\
  - name: lin
    source: tx
    path: lin.json
""").replace("    key: user\n", "    key: [user, channel]\n")
    (tmp_path / "lin.json").write_text(linear_file(LIN["bias"], LIN["weights"]))
    srv = EddyServer(eddy, tmp_path, text).start()
    try:
        t = iso()
        srv.post("/v1/sources/tx/events", json=[tx("a", "mk", 10.0, "web", t),
                                                 tx("b", "mk", 20.0, "app", t),
                                                 tx("c", "mk", 30.0, "web", t)])

        def scored():
            r = srv.post("/v1/predict", json={"model": "lin", "key": ["mk", "web"],
                                              "fields": {"amount": 1.0}}).json()
            return r if r["predictions"][0]["freshness"]["user_activity"]["found"] else None
        p = wait_for(scored, what="features of (mk, web)")["predictions"][0]
        # The key is echoed whole (regression: only its first part was).
        assert p["key"] == ["mk", "web"]
        assert p["score"] == pytest.approx(lin_score(2, 40.0, 1.0), rel=1e-12)
        p = srv.post("/v1/predict", json={"model": "lin", "key": ["mk", "app"],
                                          "fields": {"amount": 1.0}}).json()["predictions"][0]
        assert p["score"] == pytest.approx(lin_score(1, 20.0, 1.0), rel=1e-12)
        assert_error(srv.post("/v1/predict", json={"model": "lin", "key": "mk"}), 400,
                     "invalid_argument")
    finally:
        assert srv.stop() == 0, srv.stderr


def test_feedback_labels_train_the_online_model(eddy, tmp_path):
    srv = EddyServer(eddy, tmp_path, pipeline(ooo="0s", serving="  auth: false\n", models="""\
  - name: online
    source: tx
    online: {numeric: [n_1h, sum_1h, log_amount], hashed: [channel]}
    output: out/online.jsonl
""", feedback="feedback:\n  source: labels\n  label: fraud\n  unmatched: out/unmatched.jsonl\n"))
    srv.start()
    try:
        events = [tx(f"e{i}", f"fb-{i % 5}", 10.0 + i, channel="web" if i % 2 else "app",
                     ts=iso(-100 + i)) for i in range(20)]
        assert srv.post("/v1/sources/tx/events", json=events).json()["accepted"] == 20
        labels = [{"id": f"e{i}", "fraud": int(i % 3 == 0), "ts": iso(-60)} for i in range(20)]
        labels.append({"id": "never-predicted", "fraud": 1, "ts": iso(-60)})
        labels.append({"id": "e1", "fraud": "yes", "ts": iso(-60)})  # rejected: wrong type
        body = srv.post("/v1/feedback", json=labels).json()
        assert body["received"] == 22 and body["accepted"] == 21
        assert body["rejected"][0]["index"] == 21 and body["rejected"][0]["field"] == "fraud"
        # A label is joined once the predictions' watermark passes its time.
        srv.post("/v1/sources/tx/events", json=[tx("late-wm", "fb-x", 1.0, ts=iso(-10))])

        def matched():
            text = srv.metrics()
            return text if metric(text, 'eddy_feedback_labels_total{outcome="matched"}') == 20 else None
        text = wait_for(matched, what="20 labels matched")
        assert metric(text, 'eddy_feedback_labels_total{outcome="no_prediction"}') == 1
        assert metric(text, 'eddy_model_quality{model="online",metric="log_loss"}') > 0
        # The served export is refreshed within a second; its version counts updates.
        wait_for(lambda: srv.get("/v1/models").json()["models"][0].get("version") == 20,
                 what="the online model's export after 20 updates")
        p = srv.post("/v1/predict", json={"model": "online", "key": "fb-1",
                                          "fields": {"amount": 5.0, "channel": "web"}}).json()
        assert p["version"] == 20 and p["predictions"][0]["score"] != 0.5
        live_score = p["predictions"][0]["score"]

        # The learner's published state, for the registry, while it runs.
        snap = srv.get("/v1/models/online/snapshot")
        assert snap.status_code == 200, snap.text
        assert snap.headers["Content-Type"] == "application/octet-stream"
        assert snap.headers["X-Eddy-Updates"] == "20"
        assert snap.content.startswith(b"EDDYOLRN")
        assert srv.get("/v1/models/online/snapshot").content == snap.content  # nothing new learned
        assert_error(srv.get("/v1/models/nope/snapshot"), 404, "not_found")
    finally:
        assert srv.stop() == 0, srv.stderr
    unmatched = read_jsonl(tmp_path / "out/unmatched.jsonl")
    assert [u["id"] for u in unmatched] == ["never-predicted"]

    # Registered, the snapshot is a version like any other, and a pipeline
    # serving it scores as the learner's export did.
    (tmp_path / "learner.snapshot").write_bytes(snap.content)
    reg = tmp_path / "registry"
    meta = json.loads(subprocess.run(
        [eddy, "model", "register", str(reg), "learner", str(tmp_path / "learner.snapshot"),
         "--json"], check=True, capture_output=True, text=True).stdout)
    assert meta["format"] == "online_snapshot" and meta["version"] == 1
    subprocess.run([eddy, "model", "promote", str(reg), "learner", "1"], check=True,
                   capture_output=True)
    served = tmp_path / "served"
    served.mkdir()
    srv2 = EddyServer(eddy, served, pipeline(ooo="0s", serving="  auth: false\n", models=f"""\
  - name: frozen
    source: tx
    registry: {reg}
    registry_name: learner
"""))
    srv2.start()
    try:
        events = [tx(f"e{i}", f"fb-{i % 5}", 10.0 + i, channel="web" if i % 2 else "app",
                     ts=iso(-100 + i)) for i in range(20)]
        assert srv2.post("/v1/sources/tx/events", json=events).json()["accepted"] == 20
        wait_count(srv2, "fb-1", 4)
        p2 = srv2.post("/v1/predict", json={"model": "frozen", "key": "fb-1",
                                            "fields": {"amount": 5.0, "channel": "web"}}).json()
        assert p2["version"] == 1
        assert p2["predictions"][0]["score"] == pytest.approx(live_score, rel=1e-12)
    finally:
        assert srv2.stop() == 0, srv2.stderr


def test_a_fresh_learner_has_an_empty_snapshot_and_other_models_none(eddy, tmp_path):
    srv = EddyServer(eddy, tmp_path, pipeline(serving="  auth: false\n", models="""\
  - name: online
    source: tx
    online: {numeric: [n_1h, sum_1h, log_amount], hashed: [channel]}
  - name: lin
    source: tx
    path: lin.json
"""))
    (tmp_path / "lin.json").write_text(linear_file(LIN["bias"], LIN["weights"]))
    srv.start()
    try:
        # Published with the first export, before any example: the initial
        # weights (all zero, so every score is 0.5).
        snap = wait_for(lambda: (r := srv.get("/v1/models/online/snapshot")).status_code == 200
                        and r, what="the learner's first export")
        assert snap.headers["X-Eddy-Updates"] == "0"
        assert snap.content.startswith(b"EDDYOLRN")
        msg = assert_error(srv.get("/v1/models/lin/snapshot"), 404, "not_found")
        assert "not an online learner" in msg
    finally:
        assert srv.stop() == 0, srv.stderr


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True)
    return str(cert), str(key)


def test_tls_with_a_self_signed_pair_and_env_tokens(eddy, tmp_path, self_signed):
    cert, key = self_signed
    (tmp_path / "lin.json").write_text(linear_file(LIN["bias"], LIN["weights"]))
    text = pipeline(serving=f"  tls_cert: {cert}\n  tls_key: {key}\n", models="""\
  - name: lin
    source: tx
    path: lin.json
""")
    srv = EddyServer(eddy, tmp_path, text, tls_cert=cert, token=READER,
                     env={"EDDY_API_TOKENS": f"{READER} read dash; {SCORER} predict,ingest svc"})
    srv.start()
    try:
        assert "serving on https://" in srv.stderr
        with requests.Session() as s:
            r = s.post(srv.url("/v1/sources/tx/events"), json=tx("t1", "tls-1", 9.0),
                       headers=bearer(SCORER), verify=cert)
            assert r.json()["accepted"] == 1
            wait_for(lambda: s.get(srv.url("/v1/features/user_activity?key=tls-1"),
                                   headers=bearer(READER), verify=cert).json()["results"][0]
                     .get("found"))
            for i in range(5):
                r = s.post(srv.url("/v1/predict"), headers=bearer(SCORER), verify=cert,
                           json={"model": "lin", "key": "tls-1", "fields": {"amount": 9.0}})
                assert r.status_code == 200
                assert r.json()["predictions"][0]["score"] == pytest.approx(lin_score(1, 9.0, 9.0),
                                                                           rel=1e-12)
            assert_error(s.post(srv.url("/v1/predict"), json={}, verify=cert), 401,
                         "unauthenticated")
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(srv.url("/healthz"), verify=True, timeout=5)
        # Plain HTTP on the TLS port gets no answer.
        sock = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            data = sock.recv(4096)
        except (ConnectionResetError, socket.timeout):
            data = b""
        assert not data.startswith(b"HTTP/1.1 200")
    finally:
        assert srv.stop() == 0, srv.stderr
    assert SCORER not in srv.stderr and READER not in srv.stderr


def test_auth_on_without_tokens_refuses_to_start(eddy, tmp_path):
    (tmp_path / "pipeline.yaml").write_text(pipeline())
    r = subprocess.run([eddy, "run", "pipeline.yaml"], cwd=tmp_path, capture_output=True, text=True,
                       timeout=30, env={"PATH": "/usr/bin:/bin"})
    assert r.returncode != 0
    assert "auth is on but there are no tokens" in r.stderr


def test_sigterm_finishes_in_flight_requests_checkpoints_and_resumes(eddy, tmp_path):
    srv = EddyServer(eddy, tmp_path, pipeline(serving="  auth: false\n", checkpoint="0s"))
    srv.start()
    counts = {}
    t = iso()
    with requests.Session() as s:
        for b in range(10):
            batch = [tx(f"b{b}-{i}", f"sd-{i % 20}", 1.0, ts=t) for i in range(300)]
            for e in batch:
                counts[e["user"]] = counts.get(e["user"], 0) + 1
            r = s.post(srv.url("/v1/sources/tx/events"), json=batch, timeout=10)
            assert r.json()["accepted"] == 300
    # An ingest request still being received when SIGTERM arrives.
    body = "\n".join(json.dumps(tx(f"inflight-{i}", "sd-inflight", 2.0, ts=t))
                     for i in range(10)).encode()
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=15)
    sock.sendall(b"POST /v1/sources/tx/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                 b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body[:100])
    time.sleep(0.2)
    srv.proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert srv.proc.poll() is None, "exited with a request in flight"
    # The listener closes: new connections are refused while it finishes.
    def refused():
        try:
            socket.create_connection(("127.0.0.1", srv.port), timeout=2).close()
            return False
        except ConnectionRefusedError:
            return True
    wait_for(refused, timeout=5, what="the listener to close")
    assert srv.proc.poll() is None
    sock.sendall(body[100:])
    resp = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        resp += chunk
    head, _, payload = resp.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), resp
    assert b"connection: close" in head.lower()
    assert json.loads(payload) == {"received": 10, "accepted": 10, "rejected": []}
    assert srv.wait() == 0, srv.stderr  # (a second signal would exit at once)
    assert "stopped on request" in srv.stderr
    assert list((tmp_path / "state" / "checkpoints").iterdir())
    # The ten records arrived after the engine stopped reading: they are in
    # the event log, not in the state. A restart resumes from the checkpoint
    # and processes them; nothing is counted twice.
    log = (tmp_path / "events" / "tx.jsonl").read_text().splitlines()
    assert len(log) == 3010
    srv.start()
    try:
        counts["sd-inflight"] = 10
        wait_for(lambda: all(
            x.get("found") and x["features"]["n_1h"] == counts[k]
            for k, x in features(srv, "user_activity", *counts, token=None).items()),
            what="every event counted once")
        # The counters were restored too: 3,000 from the first run, 10 now
        # (/metrics reads a snapshot the engine refreshes a few times a second).
        wait_for(lambda: metric(srv.metrics(),
                                'eddy_source_records_total{source="tx",outcome="accepted"}') == 3010,
                 what="3,010 accepted in /metrics")
    finally:
        assert srv.stop() == 0, srv.stderr
    assert "3,010" in srv.stderr and len(list((tmp_path / "state" / "checkpoints").iterdir())) == 2
