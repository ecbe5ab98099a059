"""Restart behaviour of `eddy run` with a `state:` section
(docs/operations/checkpoints.md): a restart after a clean end resumes at the
end, a stop by SIGTERM resumes where it stopped, and inputs that changed
since the checkpoint are refused with a message naming them and suggesting
--fresh."""
import json
import os
import re
import signal
import subprocess
import time

import pytest

from compare import assert_same_files, assert_same_text

PIPELINE = """\
version: 1
name: ckpt
sources:
  - name: tx
    format: jsonl
    path: {path}
    schema:
      fields:
        - {{name: tx_id, type: string, required: true}}
        - {{name: user_id, type: string, required: true}}
        - {{name: merchant_id, type: string, required: true}}
        - {{name: country, type: string, required: true}}
        - {{name: amount, type: double, required: true, min: 0}}
        - {{name: ts, type: timestamp}}
    event_time: ts
    key: user_id
    id: tx_id
    watermark: {{max_out_of_orderness: 5s, allowed_lateness: 1m, idle_timeout: 0s}}
features:
  - name: user
    source: tx
    aggregations:
      - {{name: n_1h, fn: count, window: 1h}}
      - {{name: amount_sum_1h, fn: sum, field: amount, window: 1h}}
      - {{name: amount_mean_24h, fn: mean, field: amount, window: 24h}}
      - {{name: merchants_24h, fn: count_distinct, field: merchant_id, window: 24h}}
  - name: user_hourly
    source: tx
    window: {{type: tumbling, size: 1h}}
    aggregations:
      - {{name: n, fn: count}}
      - {{name: total, fn: sum, field: amount}}
    output: out/hourly.jsonl
outputs:
  features: out/features.jsonl
  late: out/late.jsonl
  dead_letter: out/dead.jsonl
state:
  dir: state
  online_store: rocksdb
  history: true
  availability: event_time
  checkpoint_interval: {interval}
"""

OUTPUTS = ["features.jsonl", "hourly.jsonl", "late.jsonl", "dead.jsonl"]


def eddy_run(eddy, *args, timeout=120):
    return subprocess.run([eddy, *args], capture_output=True, text=True, timeout=timeout)


def write_pipeline(directory, path, interval="100ms"):
    directory.mkdir(parents=True, exist_ok=True)
    p = directory / "p.yaml"
    p.write_text(PIPELINE.format(path=json.dumps(str(path)), interval=interval))
    return p


def outputs(pipeline):
    return {n: (pipeline.parent / "out" / n).read_bytes() for n in OUTPUTS}


def rows(pipeline, name):
    path = pipeline.parent / "out" / name
    return path.read_bytes().count(b"\n") if path.exists() else 0


def dump_online(eddy, pipeline):
    r = eddy_run(eddy, "dump-online", str(pipeline))
    assert r.returncode == 0, r.stderr
    return r.stdout


def export_history(eddy, pipeline, tmp):
    out = tmp / f"{pipeline.parent.name}-history.jsonl"
    r = eddy_run(eddy, "export", str(pipeline), "--format", "jsonl", "--output", str(out))
    assert r.returncode == 0, r.stderr
    return out.read_bytes()


def source_counts(stderr):
    """The summary row of source tx: records, accepted, late, dead-letter, ..."""
    m = re.search(r"^\s+tx\s+(.*)$", stderr, re.M)
    assert m, stderr
    return m.group(1).split()


def checkpoint_seqs(pipeline):
    d = pipeline.parent / "state" / "checkpoints"
    if not d.exists():
        return []
    return sorted(int(n[5:]) for n in os.listdir(d) if re.fullmatch(r"ckpt-\d{10}", n))


def records(n, start=0, users=7):
    base = 1714550400  # 2024-05-01T08:00:00Z
    lines = []
    for i in range(start, start + n):
        t = base + i * 37
        lines.append(json.dumps({
            "tx_id": f"t{i:07d}", "user_id": f"u{i % users}", "merchant_id": f"m{(i * 7) % 13}",
            "country": "DE" if i % 5 else "FR", "amount": round(1 + (i * 7919) % 1000 / 10, 2),
            "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))}))
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def big_input(bin_dir, tmp_path_factory):
    d = tmp_path_factory.mktemp("ckpt-data")
    tx = d / "tx.jsonl"
    r = subprocess.run([str(bin_dir / "eddy-datagen"), "--events", "150000", "--users", "3000",
                        "--seed", "11", "--out", str(tx), "--quiet"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return tx


@pytest.fixture(scope="module")
def big_reference(eddy, big_input, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ckpt-ref")
    p = write_pipeline(tmp / "ref", big_input, interval="0s")
    r = eddy_run(eddy, "run", str(p), "--quiet")
    assert r.returncode == 0, r.stderr
    return {"outputs": outputs(p), "online": dump_online(eddy, p),
            "history": export_history(eddy, p, tmp), "counts": source_counts(r.stderr)}


def test_restart_after_a_clean_end_resumes_at_the_end(eddy, tmp_path):
    tx = tmp_path / "tx.jsonl"
    tx.write_text(records(500))
    p = write_pipeline(tmp_path / "run", tx)
    first = eddy_run(eddy, "run", str(p), "--quiet")
    assert first.returncode == 0, first.stderr
    before = outputs(p)
    assert before["features.jsonl"].count(b"\n") == 500
    online, history = dump_online(eddy, p), export_history(eddy, p, tmp_path)
    seqs = checkpoint_seqs(p)
    assert seqs, "a clean end leaves a checkpoint"

    second = eddy_run(eddy, "run", str(p), "--quiet")
    assert second.returncode == 0, second.stderr
    assert "finished (inputs ended)" in second.stderr
    # Nothing is read again, nothing is written twice.
    assert_same_files(outputs(p), before)
    assert_same_text(dump_online(eddy, p), online, "online store")
    assert_same_text(export_history(eddy, p, tmp_path), history, "history")
    assert source_counts(second.stderr) == source_counts(first.stderr)
    assert checkpoint_seqs(p)[-1] > seqs[-1]


def test_sigterm_mid_run_then_restart_equals_an_uninterrupted_run(eddy, big_input, big_reference, tmp_path):
    p = write_pipeline(tmp_path / "run", big_input, interval="100ms")
    proc = subprocess.Popen([eddy, "run", str(p), "--quiet"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not checkpoint_seqs(p):
        assert time.monotonic() < deadline, "no checkpoint within 60s"
        assert proc.poll() is None, "the run ended before it could be stopped"
        time.sleep(0.005)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "stopped on request" in err
    stopped_at = checkpoint_seqs(p)[-1]
    partial = outputs(p)["features.jsonl"].count(b"\n")
    assert 0 < partial < big_reference["outputs"]["features.jsonl"].count(b"\n")

    r = eddy_run(eddy, "run", str(p), "--quiet")
    assert r.returncode == 0, r.stderr
    assert "finished (inputs ended)" in r.stderr
    assert checkpoint_seqs(p)[-1] > stopped_at
    assert_same_files(outputs(p), big_reference["outputs"])
    assert_same_text(dump_online(eddy, p), big_reference["online"], "online store")
    assert_same_text(export_history(eddy, p, tmp_path), big_reference["history"], "history")
    assert source_counts(r.stderr) == big_reference["counts"]


def test_a_directory_source_resumes_its_files_in_the_same_interleaving(eddy, bin_dir, tmp_path):
    # Three files, read round-robin a batch at a time: which one comes next
    # is part of the checkpoint (the watermark, lateness and per-key
    # features depend on how their records interleave).
    d = tmp_path / "in"
    d.mkdir()
    for i, name in enumerate(["a.jsonl", "b.jsonl", "c.jsonl"]):
        r = subprocess.run([str(bin_dir / "eddy-datagen"), "--events", "40000", "--users", "500",
                            "--seed", str(100 + i), "--out", str(d / name), "--quiet"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
    ref = write_pipeline(tmp_path / "ref", d, interval="0s")
    r = eddy_run(eddy, "run", str(ref), "--quiet")
    assert r.returncode == 0, r.stderr
    reference = outputs(ref)
    assert reference["late.jsonl"].count(b"\n") > 10

    p = write_pipeline(tmp_path / "run", d, interval="0s")
    for fraction in (0.15, 0.4, 0.7):
        target = int(reference["features.jsonl"].count(b"\n") * fraction)
        proc = subprocess.Popen([eddy, "run", str(p), "--quiet"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        while rows(p, "features.jsonl") < target:
            assert proc.poll() is None, "the run ended before it could be stopped"
            time.sleep(0.005)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0 and "stopped on request" in err, err
    r = eddy_run(eddy, "run", str(p), "--quiet")
    assert r.returncode == 0, r.stderr
    assert_same_files(outputs(p), reference)
    assert_same_text(dump_online(eddy, p), dump_online(eddy, ref), "online store")


def change_input(tx, how):
    """Changes a 300-record input as `how` says; returns its records now."""
    text = tx.read_text()
    if how == "shorter":
        tx.write_text(records(200))
        return 200
    if how == "appended":
        with open(tx, "a") as f:
            f.write(records(100, start=300))
        return 400
    # Rewritten: another id in the last record, at the same length.
    last = text.rindex('"tx_id": "t')
    tx.write_text(text[:last] + text[last:].replace('"t0', '"x0', 1))
    assert tx.stat().st_size == len(text)
    return 300


@pytest.mark.parametrize("how,message", [
    ("shorter", "is shorter than the checkpoint's position"),
    ("appended", "grew after the checkpoint, which had read it to its end"),
    ("rewritten", "has other bytes before the checkpoint's position"),
])
def test_an_input_changed_since_the_checkpoint_is_refused(eddy, tmp_path, how, message):
    tx = tmp_path / "tx.jsonl"
    tx.write_text(records(300))
    p = write_pipeline(tmp_path / "run", tx)
    assert eddy_run(eddy, "run", str(p), "--quiet").returncode == 0
    before = outputs(p)
    rows_now = change_input(tx, how)

    r = eddy_run(eddy, "run", str(p), "--quiet")
    assert r.returncode == 1, r.stderr
    assert "source 'tx'" in r.stderr and str(tx) in r.stderr, r.stderr
    assert message in r.stderr, r.stderr
    assert "--fresh" in r.stderr, r.stderr
    assert_same_files(outputs(p), before)  # refused before touching anything

    r = eddy_run(eddy, "run", str(p), "--quiet", "--fresh")
    assert r.returncode == 0, r.stderr
    assert outputs(p)["features.jsonl"].count(b"\n") == rows_now


def test_a_directory_source_whose_files_changed_is_refused(eddy, tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    (d / "a.jsonl").write_text(records(100))
    (d / "b.jsonl").write_text(records(100, start=100))
    p = write_pipeline(tmp_path / "run", d)
    assert eddy_run(eddy, "run", str(p), "--quiet").returncode == 0

    # A file more: another number of partitions.
    (d / "c.jsonl").write_text(records(10, start=200))
    r = eddy_run(eddy, "run", str(p), "--quiet")
    assert r.returncode == 1, r.stderr
    assert "source 'tx' had 2 partition(s) at the checkpoint and has 3 now" in r.stderr, r.stderr
    assert "--fresh" in r.stderr, r.stderr

    # As many files, but another one: named.
    (d / "b.jsonl").unlink()
    r = eddy_run(eddy, "run", str(p), "--quiet")
    assert r.returncode == 1, r.stderr
    assert str(d / "c.jsonl") in r.stderr and str(d / "b.jsonl") in r.stderr, r.stderr
    assert "at the checkpoint: its input changed" in r.stderr and "--fresh" in r.stderr, r.stderr

    r = eddy_run(eddy, "run", str(p), "--quiet", "--fresh")
    assert r.returncode == 0, r.stderr
    assert outputs(p)["features.jsonl"].count(b"\n") == 110


def test_stdin_cannot_resume_and_says_so(eddy, tmp_path):
    p = write_pipeline(tmp_path / "run", "-")
    first = subprocess.run([eddy, "run", str(p), "--quiet"], input=records(50), capture_output=True,
                           text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    again = subprocess.run([eddy, "run", str(p), "--quiet"], input=records(50), capture_output=True,
                           text=True, timeout=60)
    assert again.returncode == 1, again.stderr
    assert "is a stream (stdin or a pipe) and cannot resume from a checkpoint" in again.stderr
    assert "--fresh" in again.stderr
    fresh = subprocess.run([eddy, "run", str(p), "--quiet", "--fresh"], input=records(50),
                           capture_output=True, text=True, timeout=60)
    assert fresh.returncode == 0, fresh.stderr


def test_dump_online_reads_only_durable_stores_it_can_open(eddy, tmp_path):
    tx = tmp_path / "tx.jsonl"
    tx.write_text(records(40))
    p = write_pipeline(tmp_path / "run", tx)
    assert eddy_run(eddy, "run", str(p), "--quiet").returncode == 0

    whole = eddy_run(eddy, "dump-online", str(p))
    assert whole.returncode == 0, whole.stderr
    rows = [json.loads(l) for l in whole.stdout.splitlines()]
    assert [(r["group"], r["key"]) for r in rows] == sorted((r["group"], r["key"]) for r in rows)
    assert {r["key"] for r in rows} == {f"u{i}" for i in range(7)}
    assert set(rows[0]) == {"group", "key", "event_time", "computed_at", "values"}
    assert list(rows[0]["values"]) == ["n_1h", "amount_sum_1h", "amount_mean_24h", "merchants_24h"]
    out = tmp_path / "dump.jsonl"
    r = eddy_run(eddy, "dump-online", str(p), "--group", "user", "--output", str(out))
    assert r.returncode == 0, r.stderr
    assert_same_text(out.read_text(), whole.stdout, "dump-online --output")

    r = eddy_run(eddy, "dump-online", str(p), "--group", "nope")
    assert r.returncode == 1 and "no per-event feature group named 'nope'" in r.stderr, r.stderr
    assert "(the pipeline has user)" in r.stderr, r.stderr
    r = eddy_run(eddy, "dump-online", str(p), "--state", str(tmp_path / "nowhere"))
    assert r.returncode == 1 and "no online store at" in r.stderr, r.stderr
    assert eddy_run(eddy, "dump-online", str(p), "--bogus", "x").returncode == 2
    assert eddy_run(eddy, "dump-online", "--help").returncode == 0

    no_state = tmp_path / "nostate.yaml"
    no_state.write_text(p.read_text().split("state:")[0])
    r = eddy_run(eddy, "dump-online", str(no_state))
    assert r.returncode == 1 and "keeps no state" in r.stderr, r.stderr


def test_replay_state_of_a_pipeline_without_state_keeps_store_and_history(eddy, tmp_path):
    """`eddy replay --state DIR` keeps what a `state:` section with its
    defaults would: a RocksDB online store and the history, in DIR."""
    tx = tmp_path / "tx.jsonl"
    tx.write_text(records(40))
    p = write_pipeline(tmp_path / "run", tx)
    assert eddy_run(eddy, "run", str(p), "--quiet").returncode == 0
    no_state = tmp_path / "nostate.yaml"
    no_state.write_text(p.read_text().split("state:")[0])
    replay_dir = tmp_path / "replay-state"
    r = eddy_run(eddy, "replay", str(no_state), "--input", str(tx), "--output",
                 str(tmp_path / "replayed.jsonl"), "--state", str(replay_dir), "--quiet")
    assert r.returncode == 0, r.stderr

    def without_computed_at(text):
        rows = [json.loads(line) for line in text.splitlines()]
        for row in rows:
            del row["computed_at"]  # the run records event time, the replay processing time
        return rows
    live = eddy_run(eddy, "dump-online", str(p))
    replayed = eddy_run(eddy, "dump-online", str(no_state), "--state", str(replay_dir))
    assert replayed.returncode == 0, replayed.stderr
    assert without_computed_at(replayed.stdout) == without_computed_at(live.stdout)

    with_state = tmp_path / "replay.yaml"
    with_state.write_text(no_state.read_text() + f"state:\n  dir: {json.dumps(str(replay_dir))}\n")
    out = tmp_path / "history.jsonl"
    r = eddy_run(eddy, "export", str(with_state), "--format", "jsonl", "--output", str(out))
    assert r.returncode == 0, r.stderr
    assert sum(json.loads(line)["group"] == "user" for line in out.read_text().splitlines()) == 40

    # A running pipeline holds its store: a clear error, not a hang or a crash.
    live = write_pipeline(tmp_path / "live", "-")
    proc = subprocess.Popen([eddy, "run", str(live), "--quiet"], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    proc.stdin.write(records(10))
    proc.stdin.flush()
    deadline = time.monotonic() + 30
    while not (live.parent / "state" / "online" / "CURRENT").exists():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    r = eddy_run(eddy, "dump-online", str(live))
    proc.stdin.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=30) == 0, err
    assert r.returncode == 1 and "in use" in r.stderr, r.stderr
    # And once it stopped, the store dumps.
    assert eddy_run(eddy, "dump-online", str(live)).stdout.count("\n") == 7


MEMORY_PIPELINE = """\
version: 1
name: mem
sources:
  - name: tx
    type: http
    format: jsonl
    path: events/tx.jsonl
    schema:
      fields:
        - {name: id, type: string, required: true}
        - {name: user, type: string, required: true}
        - {name: amount, type: double}
        - {name: ts, type: timestamp, required: true}
    event_time: ts
    key: user
    id: id
    watermark: {max_out_of_orderness: 0s, allowed_lateness: 0s}
features:
  - name: user
    source: tx
    ttl: 3650d
    aggregations:
      - {name: n_1h, fn: count, window: 1h}
      - {name: sum_1h, fn: sum, field: amount, window: 1h}
serving:
  port: 0
  port_file: state/port
  auth: false
state:
  dir: state
  online_store: memory
  checkpoint_interval: 1h
outputs:
  features: out/features.jsonl
  late: out/late.jsonl
  dead_letter: out/dead.jsonl
"""


def test_an_in_memory_online_store_is_restored_from_the_checkpoint(eddy, tmp_path):
    # The memory store has no files of its own: its vectors travel in the
    # checkpoint. After a restart nothing is recomputed (the event log is
    # resumed at its end), so a key's features can only come from there.
    from eddy_api import EddyServer, wait_for

    server = EddyServer(eddy, tmp_path / "mem", MEMORY_PIPELINE).start()
    try:
        events = [{"id": f"e{i}", "user": f"u{i % 3}", "amount": 1.5 * i,
                   "ts": f"2024-05-01T10:{i:02d}:00Z"} for i in range(10)]
        r = server.post("/v1/sources/tx/events", json=events)
        assert r.status_code == 200 and r.json()["accepted"] == 10, r.text

        def features():
            body = server.get("/v1/features/user?key=u0&key=u1&key=u2").json()
            res = body["results"]
            return res if all(x.get("found") for x in res) else None

        before = wait_for(features, what="features of u0, u1 and u2")
        assert before[0]["features"] == {"n_1h": 4, "sum_1h": 1.5 * (0 + 3 + 6 + 9)}
    finally:
        assert server.stop() == 0, server.stderr

    server.start()
    try:
        after = server.get("/v1/features/user?key=u0&key=u1&key=u2").json()["results"]
        for a, b in zip(after, before):
            assert a["found"], a
            for k in ("features", "event_time", "computed_at"):
                assert a[k] == b[k], (k, a, b)
    finally:
        assert server.stop() == 0, server.stderr


def test_a_changed_feature_group_is_refused_and_other_changes_are_not(eddy, tmp_path):
    tx = tmp_path / "tx.jsonl"
    tx.write_text(records(300))
    p = write_pipeline(tmp_path / "run", tx)
    assert eddy_run(eddy, "run", str(p), "--quiet").returncode == 0
    before = outputs(p)
    text = p.read_text()

    # Another window length: the saved state would give wrong values.
    changed = text.replace("{name: n_1h, fn: count, window: 1h}", "{name: n_1h, fn: count, window: 2h}")
    assert changed != text
    p.write_text(changed)
    r = eddy_run(eddy, "run", str(p), "--quiet")
    assert r.returncode == 1, r.stderr
    assert "feature groups changed since the checkpoint" in r.stderr, r.stderr
    assert "group 'user'" in r.stderr and "over 1h" in r.stderr and "over 2h" in r.stderr, r.stderr
    assert "--fresh" in r.stderr, r.stderr
    assert_same_files(outputs(p), before)  # refused before touching anything

    # Another type of a field the state keeps: its stored values would be misread.
    changed = text.replace("{name: merchant_id, type: string, required: true}",
                           "{name: merchant_id, type: int, required: true}")
    assert changed != text
    p.write_text(changed)
    r = eddy_run(eddy, "run", str(p), "--quiet")
    assert r.returncode == 1, r.stderr
    assert "merchant_id:string" in r.stderr and "merchant_id:int" in r.stderr, r.stderr
    assert_same_files(outputs(p), before)

    # What the state does not depend on may change: the group's TTL.
    changed = text.replace("  - name: user\n    source: tx\n",
                           "  - name: user\n    source: tx\n    ttl: 2h\n")
    assert changed != text
    p.write_text(changed)
    r = eddy_run(eddy, "run", str(p), "--quiet")
    assert r.returncode == 0, r.stderr
    assert "finished (inputs ended)" in r.stderr


def test_switching_the_online_store_kind_is_refused(eddy, tmp_path):
    tx = tmp_path / "tx.jsonl"
    tx.write_text(records(300))
    p = write_pipeline(tmp_path / "run", tx)
    assert eddy_run(eddy, "run", str(p), "--quiet").returncode == 0
    text = p.read_text()
    p.write_text(text.replace("online_store: rocksdb", "online_store: memory"))
    r = eddy_run(eddy, "run", str(p), "--quiet")
    assert r.returncode == 1, r.stderr
    assert "state.online_store is 'memory'" in r.stderr, r.stderr
    assert "taken with 'rocksdb'" in r.stderr and "--fresh" in r.stderr, r.stderr
    # Memory to RocksDB likewise.
    r = eddy_run(eddy, "run", str(p), "--quiet", "--fresh")
    assert r.returncode == 0, r.stderr
    p.write_text(text)
    r = eddy_run(eddy, "run", str(p), "--quiet")
    assert r.returncode == 1 and "taken with 'memory'" in r.stderr, r.stderr


def test_export_to_parquet_finds_the_repository_venv(eddy, tmp_path):
    """`eddy export --format parquet` with no EDDY_PYTHON/EDDY_VENV, run from a
    directory without a .venv, uses the repository's environment (found from
    the binary's place in build/<type>/bin) and writes the rows the JSON-lines
    export has."""
    pa = pytest.importorskip("pyarrow.parquet")
    tx = tmp_path / "tx.jsonl"
    tx.write_text(records(200))
    p = write_pipeline(tmp_path / "run", tx)
    assert eddy_run(eddy, "run", str(p), "--quiet").returncode == 0
    env = {k: v for k, v in os.environ.items() if k not in ("EDDY_PYTHON", "EDDY_VENV")}
    out = tmp_path / "user.parquet"
    r = subprocess.run([eddy, "export", str(p), "--format", "parquet", "--group", "user",
                        "--output", str(out)], capture_output=True, text=True, timeout=120,
                       env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    table = pa.read_table(out).to_pylist()
    jsonl = [json.loads(line) for line in export_history(eddy, p, tmp_path).splitlines()]
    jsonl = [row for row in jsonl if row["group"] == "user"]
    assert len(table) == len(jsonl) == 200
    assert [row["key"] for row in table] == [row["key"] for row in jsonl]
    assert [row["n_1h"] for row in table] == [row["n_1h"] for row in jsonl]
