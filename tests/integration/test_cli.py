"""End-to-end tests of the `eddy` command: exit codes, messages, signals."""
import json
import os
import signal
import subprocess
import textwrap
import time

import pytest

PIPELINE = textwrap.dedent(
    """\
    version: 1
    name: cli_test
    sources:
      - name: tx
        format: jsonl
        path: {path}
        schema:
          fields:
            - {{name: id, type: string, required: true}}
            - {{name: user, type: string}}
            - {{name: amount, type: double, min: 0}}
            - {{name: ts, type: timestamp}}
        event_time: ts
        key: user
        id: id
        watermark: {{max_out_of_orderness: 5s, allowed_lateness: 0s, idle_timeout: 0s}}
    outputs:
      accepted: out/accepted.jsonl
      late: out/late.jsonl
      dead_letter: out/dead_letter.jsonl
    """
)


def record(i, ts="2024-05-01T12:00:00Z", amount=1.5):
    return json.dumps({"id": f"t{i}", "user": f"u{i % 3}", "amount": amount, "ts": ts})


def write_pipeline(tmp_path, path="tx.jsonl", text=None):
    p = tmp_path / "pipeline.yaml"
    p.write_text(text if text is not None else PIPELINE.format(path=path))
    return p


def run(eddy, *args, **kw):
    return subprocess.run([eddy, *args], capture_output=True, text=True, timeout=60, **kw)


def test_help_for_every_command(eddy):
    top = run(eddy, "--help")
    assert top.returncode == 0
    commands = ["validate", "run", "replay", "training-set", "export", "dump-online", "model"]
    for cmd in commands + ["reference"]:
        assert cmd in top.stdout
    for cmd in commands:
        r = run(eddy, cmd, "--help")
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith(f"usage: eddy {cmd}"), r.stdout[:80]
        # `eddy help CMD` prints the same text.
        h = run(eddy, "help", cmd)
        assert h.returncode == 0 and h.stdout == r.stdout, cmd
    assert run(eddy, "help", "frobnicate").returncode == 2


def test_unknown_command_and_bad_usage_exit_2(eddy):
    assert run(eddy, "frobnicate").returncode == 2
    assert run(eddy, "run").returncode == 2
    r = run(eddy, "run", "p.yaml", "--no-such-flag")
    assert r.returncode == 2
    assert "unknown option --no-such-flag" in r.stderr


def test_validate_ok_describes_pipeline(eddy, tmp_path):
    p = write_pipeline(tmp_path)
    r = run(eddy, "validate", str(p))
    assert r.returncode == 0, r.stderr
    assert "source tx: jsonl" in r.stdout
    assert "max_out_of_orderness 5s" in r.stdout


def test_validate_errors_have_file_line_column(eddy, tmp_path):
    text = PIPELINE.format(path="tx.jsonl").replace("max_out_of_orderness", "max_out_of_order")
    text = text.replace("event_time: ts", "event_time: tss")
    p = write_pipeline(tmp_path, text=text)
    r = run(eddy, "validate", str(p))
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert any(":16:17:" in l and "unknown key 'max_out_of_order'" in l and "did you mean 'max_out_of_orderness'" in l for l in lines), r.stderr
    assert any("unknown field 'tss'" in l and "did you mean 'ts'" in l for l in lines), r.stderr


def test_validate_negative_duration(eddy, tmp_path):
    text = PIPELINE.format(path="tx.jsonl").replace("allowed_lateness: 0s", "allowed_lateness: -5s")
    r = run(eddy, "validate", str(write_pipeline(tmp_path, text=text)))
    assert r.returncode == 1
    assert "negative duration" in r.stderr


def test_run_missing_input_fails_clearly(eddy, tmp_path):
    p = write_pipeline(tmp_path, path="nope.jsonl")
    r = run(eddy, "run", str(p), "--quiet")
    assert r.returncode == 1
    assert "source 'tx'" in r.stderr and "nope.jsonl" in r.stderr and "does not exist" in r.stderr


def test_run_writes_outputs_and_summary(eddy, tmp_path):
    lines = [record(i, ts=f"2024-05-01T12:00:{i:02d}Z") for i in range(20)]
    lines.insert(5, "{broken")
    lines.append(record(99, ts="2024-05-01T11:00:00Z"))  # an hour behind: late
    (tmp_path / "tx.jsonl").write_text("\n".join(lines) + "\n")
    r = run(eddy, "run", str(write_pipeline(tmp_path)), "--quiet")
    assert r.returncode == 0, r.stderr
    accepted = (tmp_path / "out/accepted.jsonl").read_text().splitlines()
    late = (tmp_path / "out/late.jsonl").read_text().splitlines()
    dead = (tmp_path / "out/dead_letter.jsonl").read_text().splitlines()
    assert len(accepted) == 20 and len(late) == 1 and len(dead) == 1
    assert json.loads(dead[0])["location"].endswith("tx.jsonl:6")
    assert "finished (inputs ended)" in r.stderr
    assert "dead-letter reasons (tx): invalid_json 1" in r.stderr


def test_progress_is_printed_while_running(eddy, tmp_path):
    # stdin that stays open for a while: the run must report progress.
    p = write_pipeline(tmp_path, path="\"-\"")
    proc = subprocess.Popen([eddy, "run", str(p), "--progress-interval", "200ms"],
                            stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for i in range(50):
        proc.stdin.write(record(i) + "\n")
    proc.stdin.flush()
    time.sleep(1.0)
    proc.stdin.close()
    err = proc.stderr.read()
    proc.wait(timeout=30)
    assert proc.returncode == 0, err
    assert "records (" in err and "accepted 50" in err, err


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_cleanly_and_flushes(eddy, tmp_path, sig):
    p = write_pipeline(tmp_path, path="\"-\"")
    proc = subprocess.Popen([eddy, "run", str(p), "--quiet"], stdin=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    for i in range(100):
        proc.stdin.write(record(i) + "\n")
    proc.stdin.flush()
    # Wait until the engine has consumed the records, then signal it while
    # stdin is still open (the input has not ended).
    time.sleep(1.0)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "stopped on request" in err
    accepted = (tmp_path / "out/accepted.jsonl").read_text().splitlines()
    assert len(accepted) == 100


def test_replay_writes_event_timed_records(eddy, tmp_path):
    (tmp_path / "tx.jsonl").write_text("")
    recorded = tmp_path / "recorded.jsonl"
    recorded.write_text("\n".join(record(i, ts=f"2024-05-01T12:00:{i:02d}Z") for i in range(10)) + "\n")
    out = tmp_path / "replayed.jsonl"
    r = run(eddy, "replay", str(write_pipeline(tmp_path)), "--input", str(recorded), "--output", str(out), "--quiet")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(l) for l in out.read_text().splitlines()]
    assert [row["id"] for row in rows] == [f"t{i}" for i in range(10)]
    assert rows[3]["event_time"] == "2024-05-01T12:00:03Z"
    assert rows[3]["key"] == "u0"


def test_replay_needs_input_and_output(eddy, tmp_path):
    p = write_pipeline(tmp_path)
    assert run(eddy, "replay", str(p), "--output", "x").returncode == 2
    assert run(eddy, "replay", str(p), "--input", "x").returncode == 2


def test_reference_matches_checked_in_docs(eddy):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(root, "docs", "reference", "pipeline.md")) as f:
        checked_in = f.read()
    r = run(eddy, "reference")
    assert r.returncode == 0
    assert r.stdout == checked_in, "docs/reference/pipeline.md is stale: run `eddy reference > docs/reference/pipeline.md`"
