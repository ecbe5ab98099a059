"""The crash test (issue 4, "Checkpoints and restart").

A pipeline with every kind of state (per-event features, a tumbling-window
group with an output, an online model learning from delayed labels, the
RocksDB online store and the offline history) runs on a large generated input
once without interruption: the reference. Then it runs again from scratch and
is killed with SIGKILL six times, at random points spread over the input and
at random moments of the checkpoint cycle, restarting each time, until it
finishes. Every output file must equal the reference byte for byte, and so
must the history (`eddy export`), the online store (`eddy dump-online`) and
the counts and metrics of the run summary.

The reference takes a checkpoint only at its end (checkpoint_interval 0s);
the crashing runs every 50-250 ms: so the test also shows that taking
checkpoints, and where, changes nothing. To reach the six kill points quickly
the test fast-forwards between them without periodic checkpoints and stops
the run cleanly (SIGTERM) just before each. History availability is the event
time, so the history does not depend on when a vector was computed.

Also: a corrupt newest checkpoint falls back to the previous one, with a
message, and still ends equal to the reference; when every checkpoint is
corrupt the run refuses to start and suggests --fresh; --fresh starts over.
"""
import os
import random
import re
import shutil
import signal
import subprocess
import time

import pytest

from compare import assert_same_files, assert_same_text
from datagen_schema import tx_schema

EVENTS = 200_000
USERS = 2_000  # ~33 days of event time: labels arrive while transactions still flow
SEED = 20240501
KILLS = 6
# Checkpoint intervals of the runs that get killed: short, so that kills
# land before, during and after checkpoint writes (a checkpoint of this
# pipeline takes 50-150 ms, mostly the prediction log), and varied.
KILL_INTERVALS = ["50ms", "100ms", "250ms"]
KILL_INTERVAL = "100ms"

PIPELINE = """\
version: 1
name: crash
sources:
  - name: transactions
    format: jsonl
    path: {tx}
{tx_schema}
    watermark: {{max_out_of_orderness: 5s, allowed_lateness: 1m, idle_timeout: 0s}}
  - name: labels
    format: jsonl
    path: {labels}
    schema:
      fields:
        - {{name: tx_id, type: string, required: true}}
        - {{name: user_id, type: string}}
        - {{name: label, type: int, required: true}}
        - {{name: label_time, type: timestamp}}
    event_time: label_time
    id: tx_id
    watermark: {{max_out_of_orderness: 0s, allowed_lateness: 1h, idle_timeout: 0s}}
features:
  - name: user_velocity
    source: transactions
    aggregations:
      - {{name: tx_1h, fn: count, window: 1h}}
      - {{name: tx_24h, fn: count, window: 24h}}
      - {{name: amount_sum_1h, fn: sum, field: amount, window: 1h}}
      - {{name: amount_mean_24h, fn: mean, field: amount, window: 24h}}
      - {{name: amount_std_24h, fn: stddev, field: amount, window: 24h}}
      - {{name: amount_max_24h, fn: max, field: amount, window: 24h}}
      - {{name: merchants_24h, fn: count_distinct, field: merchant_id, window: 24h}}
      - {{name: countries_24h, fn: count_distinct, field: country, window: 24h}}
      - {{name: last_country, fn: last, field: country, window: 24h}}
    derived:
      - {{name: amount_z, expr: "if(amount_std_24h > 0, (amount - amount_mean_24h) / amount_std_24h, 0)"}}
      - {{name: log_amount, expr: "log(amount + 1)"}}
  - name: user_hourly
    source: transactions
    window: {{type: tumbling, size: 1h}}
    aggregations:
      - {{name: n, fn: count}}
      - {{name: total, fn: sum, field: amount}}
      - {{name: merchants, fn: count_distinct, field: merchant_id}}
    output: out/hourly.jsonl
models:
  - name: fraud_online
    source: transactions
    online:
      task: binary
      numeric: [log_amount, amount_z, tx_1h, tx_24h, merchants_24h, countries_24h]
      hashed: [merchant_category, country, channel]
      options: {{optimizer: ftrl, ftrl_alpha: 0.1}}
    threshold: 0.5
    output: out/predictions.jsonl
feedback:
  source: labels
  label: label
  horizon: 10d
  unmatched: out/unmatched.jsonl
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

OUTPUTS = ["features.jsonl", "hourly.jsonl", "predictions.jsonl", "unmatched.jsonl",
           "late.jsonl", "dead.jsonl"]


def eddy_run(eddy, *args, timeout=120):
    return subprocess.run([eddy, *args], capture_output=True, text=True, timeout=timeout)


def make_pipeline(directory, data, interval):
    directory.mkdir(parents=True, exist_ok=True)
    p = directory / "p.yaml"
    p.write_text(PIPELINE.format(tx_schema=data["tx_schema"], tx=data["tx"],
                                 labels=data["labels"], interval=interval))
    return p


def set_interval(pipeline, interval):
    """Changes the checkpoint interval between runs (checkpoints do not record it)."""
    text = pipeline.read_text()
    pipeline.write_text(re.sub(r"checkpoint_interval: \S+", f"checkpoint_interval: {interval}", text))


def checkpoint_seqs(pipeline):
    d = pipeline.parent / "state" / "checkpoints"
    if not d.exists():
        return []
    return sorted(int(n[5:]) for n in os.listdir(d) if re.fullmatch(r"ckpt-\d{10}", n))


def summary_counts(stderr):
    """The summary's counts: per source, feature group, model (with its rolling
    quality metrics, which checkpoints restore too) and the feedback loop.
    Timings, latencies and paths are left out."""
    lines = stderr.splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("eddy: pipeline "))
    kept = ("   ", "  dead-letter reasons", "  feature group", "  window rows emitted", "  model ",
            "  feedback:")
    out = [l for l in lines[start + 1:] if l.startswith(kept)]
    assert any("transactions" in l for l in out), stderr
    return out


def snapshot(eddy, pipeline, tmp):
    """Everything a run leaves: output files, history export, online store dump."""
    snap = {}
    for name in OUTPUTS:
        snap[name] = (pipeline.parent / "out" / name).read_bytes()
    hist = tmp / f"{pipeline.parent.name}-history.jsonl"
    r = eddy_run(eddy, "export", str(pipeline), "--format", "jsonl", "--output", str(hist))
    assert r.returncode == 0, r.stderr
    snap["history"] = hist.read_bytes()
    online = tmp / f"{pipeline.parent.name}-online.jsonl"
    r = eddy_run(eddy, "dump-online", str(pipeline), "--output", str(online))
    assert r.returncode == 0, r.stderr
    snap["online"] = online.read_bytes()
    return snap


def assert_same_as_reference(reference, snap):
    for name, expected in reference["files"].items():
        got = snap[name]
        assert_same_text(got, expected, f"{name} (against the reference)")


@pytest.fixture(scope="module")
def data(bin_dir, tmp_path_factory):
    d = tmp_path_factory.mktemp("crash-data")
    tx, labels = d / "tx.jsonl", d / "labels.jsonl"
    r = subprocess.run([str(bin_dir / "eddy-datagen"), "--events", str(EVENTS), "--users", str(USERS),
                        "--seed", str(SEED), "--out", str(tx), "--labels", str(labels), "--quiet"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return {"tx": str(tx), "labels": str(labels), "tx_schema": tx_schema(bin_dir)}


@pytest.fixture(scope="module")
def reference(eddy, data, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("crash-ref")
    p = make_pipeline(tmp / "ref", data, "0s")
    started = time.monotonic()
    r = eddy_run(eddy, "run", str(p), "--quiet")
    assert r.returncode == 0, r.stderr
    files = snapshot(eddy, p, tmp)
    # The data exercises what it should.
    features = files["features.jsonl"].count(b"\n")
    assert features > 0.99 * EVENTS
    assert files["hourly.jsonl"].count(b"\n") > 10_000
    assert files["predictions.jsonl"].count(b"\n") == features
    assert files["late.jsonl"].count(b"\n") > 50 and files["dead.jsonl"].count(b"\n") > 50
    assert files["history"].count(b"\n") == features
    assert files["online"].count(b"\n") == USERS
    summary = summary_counts(r.stderr)
    # The model learns from labels while transactions still flow.
    updates = re.search(r"model fraud_online \(online, ([\d,]+) updates\)", r.stderr)
    assert updates and int(updates.group(1).replace(",", "")) > 200, r.stderr
    last = files["predictions.jsonl"].rstrip(b"\n").rsplit(b"\n", 1)[-1]
    assert int(re.search(rb'"updates":(\d+)', last).group(1)) > 200, last
    return {"files": files, "summary": summary, "seconds": time.monotonic() - started}


def wait_for_checkpoint_after(pipeline, proc, seq, timeout=60):
    """Waits until a checkpoint newer than `seq` is sealed; False if the run ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seqs = checkpoint_seqs(pipeline)
        if seqs and seqs[-1] > seq:
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.005)
    raise AssertionError(f"no new checkpoint within {timeout}s")


def start(eddy, pipeline, *extra):
    err = open(pipeline.parent / "stderr.log", "w")
    proc = subprocess.Popen([eddy, "run", str(pipeline), "--quiet", *extra], stdout=subprocess.DEVNULL,
                            stderr=err)
    err.close()
    return proc


def features_size(pipeline):
    path = pipeline.parent / "out" / "features.jsonl"
    return path.stat().st_size if path.exists() else 0


def features_written(pipeline):
    path = pipeline.parent / "out" / "features.jsonl"
    if not path.exists():  # not opened yet
        return 0
    with open(path, "rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))


def stderr_of(pipeline):
    return (pipeline.parent / "stderr.log").read_text()


def run_until_checkpoints_then_kill(eddy, pipeline, count):
    """Starts the pipeline, waits until `count` checkpoints were sealed, kills it."""
    proc = start(eddy, pipeline)
    seq = checkpoint_seqs(pipeline)[-1] if checkpoint_seqs(pipeline) else 0
    for _ in range(count):
        assert wait_for_checkpoint_after(pipeline, proc, seq), "the run ended before it could be killed"
        seq = checkpoint_seqs(pipeline)[-1]
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def test_sigkill_at_random_points_then_restart_equals_uninterrupted_run(eddy, data, reference, tmp_path):
    p = make_pipeline(tmp_path / "crash", data, "0s")
    rng = random.Random(SEED)
    # Progress is measured by the size of the features output.
    total = len(reference["files"]["features.jsonl"])
    # Kill points spread over the input: one in each of its first six
    # eighths; and never past 90%, so that every run is killed before it ends.
    targets = [int(total * (k + rng.uniform(0.1, 0.8)) / (KILLS + 2)) for k in range(KILLS)]
    cap = int(total * 0.9)
    log = []
    started = time.monotonic()
    for kill, target in enumerate(targets):
        # Fast-forward to the kill point without periodic checkpoints, and stop
        # there cleanly (SIGTERM: the stop itself leaves a checkpoint). The
        # output still holds what the killed run wrote until the restarted
        # engine cuts it back: only bytes beyond that show that it is running
        # (and handles SIGTERM; one that arrives while it restores stops it
        # right after the restore).
        target = max(target, features_size(p) + 100_000)
        set_interval(p, "0s")
        proc = start(eddy, p)
        while features_size(p) < target:
            assert proc.poll() is None, f"the run ended before byte {target}:\n{stderr_of(p)}"
            time.sleep(0.005)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, stderr_of(p)
        assert "stopped on request" in stderr_of(p)
        # Restart checkpointing often, let at least one checkpoint be sealed,
        # then kill at a random moment: before, during or after the next
        # checkpoint write (they take a while).
        interval = rng.choice(KILL_INTERVALS)
        delay = rng.uniform(0, 0.3)
        set_interval(p, interval)
        seq_before = checkpoint_seqs(p)[-1]
        proc = start(eddy, p)
        kill_at = None
        while features_size(p) < cap and (kill_at is None or time.monotonic() < kill_at):
            assert proc.poll() is None, f"the run finished before kill {kill + 1}:\n{stderr_of(p)}"
            if kill_at is None and checkpoint_seqs(p)[-1] > seq_before:
                kill_at = time.monotonic() + delay
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        log.append((features_written(p), interval, checkpoint_seqs(p)[-1]))
    # The rest without interruption, at the pace of a short interval again.
    set_interval(p, rng.choice(KILL_INTERVALS))
    proc = start(eddy, p)
    proc.wait(timeout=120)
    err = stderr_of(p)
    assert proc.returncode == 0, err
    assert "finished (inputs ended)" in err
    assert "skipping checkpoint" not in err  # a crash never leaves a bad checkpoint behind
    print(f"\nreference {reference['seconds']:.1f}s; crashing runs {time.monotonic() - started:.1f}s; "
          f"killed at (feature rows written, checkpoint interval, newest checkpoint): {log}")

    assert_same_as_reference(reference, snapshot(eddy, p, tmp_path))
    assert summary_counts(err) == reference["summary"]


def corrupt(checkpoint, how):
    if how == "truncated state.bin":
        state = checkpoint / "state.bin"
        with open(state, "r+b") as f:
            f.truncate(os.path.getsize(state) // 2)
    elif how == "garbled MANIFEST":
        manifest = checkpoint / "MANIFEST"
        data = bytearray(manifest.read_bytes())
        for i in range(0, len(data), 3):
            data[i] ^= 0x5A
        manifest.write_bytes(bytes(data))
    elif how == "flipped byte in state.bin":
        state = checkpoint / "state.bin"
        data = bytearray(state.read_bytes())
        data[len(data) // 2] ^= 0x01
        state.write_bytes(bytes(data))
    elif how == "missing online store copy":
        shutil.rmtree(checkpoint / "online")
    else:
        raise ValueError(how)


@pytest.mark.parametrize("how,reason", [
    ("truncated state.bin", "state.bin has"),
    ("garbled MANIFEST", "MANIFEST is truncated or not a checkpoint manifest"),
    ("flipped byte in state.bin", "state.bin checksum mismatch"),
    ("missing online store copy", "its copy of the online store (online/) is missing"),
])
def test_corrupt_newest_checkpoint_falls_back_to_the_previous_one(eddy, data, reference, tmp_path, how,
                                                                  reason):
    p = make_pipeline(tmp_path / "corrupt", data, KILL_INTERVAL)
    run_until_checkpoints_then_kill(eddy, p, 3)
    set_interval(p, "0s")  # the rest of the run needs none
    seqs = checkpoint_seqs(p)
    assert len(seqs) >= 2, seqs
    newest = p.parent / "state" / "checkpoints" / f"ckpt-{seqs[-1]:010d}"
    corrupt(newest, how)

    proc = start(eddy, p)
    proc.wait(timeout=120)
    err = stderr_of(p)
    assert proc.returncode == 0, err
    assert (f"eddy: skipping checkpoint ckpt-{seqs[-1]:010d}: {reason}" in err
            and "using the previous one" in err), err
    assert f"eddy: resuming from checkpoint ckpt-{seqs[-2]:010d} of " in err, err
    assert_same_as_reference(reference, snapshot(eddy, p, tmp_path))
    assert summary_counts(err) == reference["summary"]


def test_all_checkpoints_corrupt_is_an_error_suggesting_fresh_and_fresh_starts_over(eddy, data, reference,
                                                                                    tmp_path):
    p = make_pipeline(tmp_path / "allbad", data, KILL_INTERVAL)
    run_until_checkpoints_then_kill(eddy, p, 2)
    set_interval(p, "0s")
    seqs = checkpoint_seqs(p)
    assert seqs
    for seq in seqs:
        corrupt(p.parent / "state" / "checkpoints" / f"ckpt-{seq:010d}", "truncated state.bin")
    outputs_before = {n: (p.parent / "out" / n).read_bytes() for n in OUTPUTS}

    r = eddy_run(eddy, "run", str(p), "--quiet")
    assert r.returncode == 1, r.stderr
    assert "no usable checkpoint" in r.stderr and "--fresh" in r.stderr, r.stderr
    for seq in seqs:
        assert f"ckpt-{seq:010d}: state.bin has" in r.stderr, r.stderr
    # Refusing to start touches nothing: the checkpoints stay for inspection.
    assert checkpoint_seqs(p) == seqs
    assert_same_files({n: (p.parent / "out" / n).read_bytes() for n in OUTPUTS}, outputs_before)

    r = eddy_run(eddy, "run", str(p), "--quiet", "--fresh")
    assert r.returncode == 0, r.stderr
    assert "skipping checkpoint" not in r.stderr
    assert_same_as_reference(reference, snapshot(eddy, p, tmp_path))
    assert summary_counts(r.stderr) == reference["summary"]
