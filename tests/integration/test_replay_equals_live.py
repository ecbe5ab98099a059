"""One code path (issue 4): replaying an event log gives, bit for bit, the
feature values the live run computed from the same events in the same order.

The live run reads standard input while the records arrive over time: in
chunks cut at arbitrary bytes (mid-record too), with pauses, including
out-of-order records (accepted, computed by the out-of-order path), records
later than the allowed lateness (late output) and broken ones (dead letters).
Idleness is off (idle_timeout: 0s), so lateness verdicts depend on the record
sequence only, not on when the records arrived. Then `eddy replay` reads the
same bytes from a file into a state directory of its own.

Compared: every feature row (live features output vs replay --output), the
window rows, late and dead-letter records, the history (every vector with its
event time; the availability time is processing time, so it differs, and is
the only thing left out) and the online store (`eddy dump-online`, the
computed-at time left out). Doubles are compared as their JSON text, which is
shortest round-trip: equal text means equal bits.
"""
import json
import random
import re
import subprocess
import time

import pytest

from compare import assert_same_list, assert_same_text
from datagen_schema import tx_schema

EVENTS = 30_000

PIPELINE = """\
version: 1
name: live
sources:
  - name: tx
    format: jsonl
    path: "-"
{tx_schema}
    watermark: {{max_out_of_orderness: 2s, allowed_lateness: 30s, idle_timeout: 0s}}
features:
  - name: user
    source: tx
    aggregations:
      - {{name: n_10m, fn: count, window: 10m}}
      - {{name: n_1h, fn: count, window: 1h}}
      - {{name: amount_sum_1h, fn: sum, field: amount, window: 1h}}
      - {{name: amount_mean_6h, fn: mean, field: amount, window: 6h}}
      - {{name: amount_std_6h, fn: stddev, field: amount, window: 6h}}
      - {{name: amount_min_1h, fn: min, field: amount, window: 1h}}
      - {{name: amount_max_6h, fn: max, field: amount, window: 6h}}
      - {{name: merchants_6h, fn: count_distinct, field: merchant_id, window: 6h}}
      - {{name: last_country, fn: last, field: country, window: 6h}}
      - {{name: amount_p90_6h, fn: quantile, q: 0.9, field: amount, window: 6h}}
      - {{name: top_categories, fn: top_k, k: 2, field: merchant_category, window: 6h}}
      - {{name: amount_decayed, fn: decayed_sum, field: amount, half_life: 30m, window: 6h}}
    derived:
      - {{name: amount_z, expr: "if(amount_std_6h > 0, (amount - amount_mean_6h) / amount_std_6h, 0)"}}
  - name: card
    source: tx
    key: card_id
    aggregations:
      - {{name: card_n_1h, fn: count, window: 1h}}
      - {{name: card_amount_sum_6h, fn: sum, field: amount, window: 6h}}
  - name: user_10m
    source: tx
    window: {{type: tumbling, size: 10m}}
    aggregations:
      - {{name: n, fn: count}}
      - {{name: total, fn: sum, field: amount}}
    output: out/windows.jsonl
outputs:
  features: out/features.jsonl
  late: out/late.jsonl
  dead_letter: out/dead.jsonl
state:
  dir: {state}
  online_store: rocksdb
  history: true
  checkpoint_interval: 200ms
"""


def eddy_run(eddy, *args, **kw):
    return subprocess.run([eddy, *args], capture_output=True, text=True, timeout=120, **kw)


def lines_without(path_or_text, field):
    """The lines with one top-level field removed, as text: the rest of each
    line, doubles included, is compared as written."""
    text = path_or_text if isinstance(path_or_text, str) else path_or_text.read_text()
    pattern = re.compile(r',"' + field + r'":"[^"]*"')
    out = []
    for line in text.splitlines():
        stripped, n = pattern.subn("", line, count=1)
        assert n == 1, f"no {field} in {line[:200]}"
        out.append(stripped)
    return out


def source_row(stderr):
    m = re.search(r"^\s+tx\s+(.*)$", stderr, re.M)
    assert m, stderr
    return m.group(1).split()


@pytest.fixture(scope="module")
def log(bin_dir, tmp_path_factory):
    d = tmp_path_factory.mktemp("live-log")
    path = d / "log.jsonl"
    r = subprocess.run([str(bin_dir / "eddy-datagen"), "--events", str(EVENTS), "--users", "300",
                        "--rate", "2", "--seed", "5", "--disorder", "0.05", "--disorder-bound", "20", "--late", "0.005",
                        "--malformed", "0.002", "--out", str(path), "--quiet"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return path


def test_replay_equals_live_bit_for_bit(eddy, bin_dir, log, tmp_path):
    live_dir, replay_state = tmp_path / "live", tmp_path / "replay-state"
    live_dir.mkdir()
    p = live_dir / "p.yaml"
    p.write_text(PIPELINE.format(tx_schema=tx_schema(bin_dir), state="state"))

    # Live: the log arrives on stdin over ~1.5 s, in chunks of random sizes
    # cut anywhere (mid-record too).
    data = log.read_bytes()
    proc = subprocess.Popen([eddy, "run", str(p), "--quiet"], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    rng = random.Random(7)
    pos = 0
    started = time.monotonic()
    while pos < len(data):
        n = rng.randint(1, 400_000)
        proc.stdin.write(data[pos:pos + n])
        proc.stdin.flush()
        pos += n
        time.sleep(rng.uniform(0, 0.08))
    proc.stdin.close()
    live_err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert proc.returncode == 0, live_err
    live_seconds = time.monotonic() - started
    live = {n: (live_dir / "out" / n).read_text() for n in
            ["features.jsonl", "windows.jsonl", "late.jsonl", "dead.jsonl"]}
    # The stream had what the test is about.
    assert live["features.jsonl"].count("\n") > 0.98 * EVENTS
    assert live["late.jsonl"].count("\n") >= 20, "no late records"
    assert live["dead.jsonl"].count("\n") >= 20, "no dead letters"
    out_of_order = re.search(r"feature group user: .* ([\d,]+) out of order", live_err)
    assert out_of_order and int(out_of_order.group(1).replace(",", "")) >= 50, live_err
    updates = re.search(r"feature group user_10m: [\d,]+ window rows \(([\d,]+) updates\)", live_err)
    assert updates and int(updates.group(1).replace(",", "")) > 0, live_err
    assert live["windows.jsonl"].count("\n") > 1000

    # Replay the same bytes from a file, into a state directory of its own.
    replayed = tmp_path / "replayed.jsonl"
    r = eddy_run(eddy, "replay", str(p), "--input", str(log), "--output", str(replayed),
                 "--state", str(replay_state), "--quiet")
    assert r.returncode == 0, r.stderr
    assert source_row(r.stderr) == source_row(live_err)

    # Feature rows: identical text, row for row.
    assert_same_text(replayed.read_text(), live["features.jsonl"], "replayed feature rows")
    # Window rows and late records went to the pipeline's outputs again.
    for name in ["windows.jsonl", "late.jsonl"]:
        assert_same_text((live_dir / "out" / name).read_text(), live[name], name)
    # Dead letters: the same, but for where they were read from.
    assert_same_list(lines_without(live_dir / "out" / "dead.jsonl", "location"),
                     lines_without(live["dead.jsonl"], "location"), "dead letters")

    # Online stores: every key's latest vector, values and event time.
    live_dump = eddy_run(eddy, "dump-online", str(p))
    replay_dump = eddy_run(eddy, "dump-online", str(p), "--state", str(replay_state))
    assert live_dump.returncode == 0, live_dump.stderr
    assert replay_dump.returncode == 0, replay_dump.stderr
    assert live_dump.stdout.count("\n") == 300 + len({json.loads(l)["key"] for l in live_dump.stdout.splitlines()
                                                      if json.loads(l)["group"] == "card"})
    assert_same_list(lines_without(replay_dump.stdout, "computed_at"),
                     lines_without(live_dump.stdout, "computed_at"), "online store")

    # Histories: every vector, in order, with its event time.
    replay_pipeline = tmp_path / "replay.yaml"
    replay_pipeline.write_text(
        PIPELINE.format(tx_schema=tx_schema(bin_dir), state=json.dumps(str(replay_state))))
    exports = []
    for pipeline, name in [(p, "live"), (replay_pipeline, "replay")]:
        out = tmp_path / f"{name}-history.jsonl"
        r = eddy_run(eddy, "export", str(pipeline), "--format", "jsonl", "--output", str(out))
        assert r.returncode == 0, r.stderr
        exports.append(lines_without(out, "available_at"))
    assert len(exports[0]) == 2 * live["features.jsonl"].count("\n")  # two per-event groups
    assert_same_list(exports[1], exports[0], "history")
    print(f"\nlive run {live_seconds:.1f}s for {len(data) / 1e6:.1f} MB")
