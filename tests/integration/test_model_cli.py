"""End-to-end tests of `eddy model`: the registry from the command line, and
pipelines serving the registry's live version."""
import concurrent.futures
import json
import os
import pathlib
import stat
import subprocess
import textwrap

import pytest

from compare import assert_same_text

ROOT = pathlib.Path(__file__).resolve().parents[2]
SNAPSHOT = ROOT / "src" / "model" / "testdata" / "learner_v1.snapshot"


def run(eddy, *args, **kw):
    return subprocess.run([eddy, *map(str, args)], capture_output=True, text=True, timeout=60, **kw)


def ok(eddy, *args):
    r = run(eddy, *args)
    assert r.returncode == 0, f"eddy {' '.join(map(str, args))}: {r.returncode}\n{r.stderr}"
    return r


def linear_model(path, weight, bias=0.0):
    """An eddy.linear logistic model over `amount`."""
    path.write_text(json.dumps({
        "format": "eddy.linear", "version": 1, "link": "logistic", "bias": bias,
        "features": [{"name": "amount", "weight": weight}],
    }))
    return path


@pytest.fixture
def models(tmp_path):
    return linear_model(tmp_path / "a.json", 0.5), linear_model(tmp_path / "b.json", -0.5, 1.0)


SUBCOMMANDS = ["register", "list", "show", "promote", "rollback", "history"]


def test_help(eddy):
    top = ok(eddy, "model", "--help")
    assert top.stdout.startswith("usage: eddy model")
    for sub in SUBCOMMANDS:
        assert sub in top.stdout
        r = ok(eddy, "model", sub, "--help")
        assert r.stdout.startswith(f"usage: eddy model {sub}"), r.stdout
        assert "exit status" in r.stdout
        assert ok(eddy, "model", "help", sub).stdout == r.stdout


def test_register_promote_rollback_and_history(eddy, tmp_path, models):
    reg = tmp_path / "registry"
    r = ok(eddy, "model", "register", reg, "fraud", models[0], "--source", "train.py@abc123",
           "--param", "C=1.0", "--param", "penalty=l2", "--metric", "auc=0.91",
           "--data-from", "2024-04-01T00:00:00Z", "--data-to", "2024-04-30")
    assert r.stdout.startswith("registered fraud version 1 (linear_json, binary_classification, 1 features)")
    meta = json.loads(ok(eddy, "model", "register", reg, "fraud", models[1], "--parent", "1",
                         "--json").stdout)
    assert meta["version"] == 2 and meta["live"] is False
    assert meta["lineage"]["parent_version"] == 1
    assert meta["feature_names"] == ["amount"]
    # The version is stored byte for byte, read-only, where `path` says.
    stored = pathlib.Path(meta["path"])
    assert_same_text(stored.read_bytes(), models[1].read_bytes(), "stored model")
    assert not stored.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)

    # Nothing is live yet.
    models_list = json.loads(ok(eddy, "model", "list", reg, "--json").stdout)
    assert models_list == [{"name": "fraud", "versions": 2, "live": None, "newest": 2}]
    show = json.loads(ok(eddy, "model", "show", reg, "fraud", "--json").stdout)
    assert show["version"] == 2 and show["live"] is False  # the newest when none is live

    r = ok(eddy, "model", "promote", reg, "fraud", "1")
    assert r.stdout == "fraud: promoted version 1 (nothing was live)\n"
    assert json.loads(ok(eddy, "model", "promote", reg, "fraud", "v2", "--json").stdout) == {
        "name": "fraud", "live": 2, "previous": 1}

    # list marks the live version.
    lines = ok(eddy, "model", "list", reg, "fraud").stdout.splitlines()
    assert lines[0].split() == ["version", "live", "format", "task", "features", "created", "source"]
    assert lines[1].split()[0] == "1" and "*" not in lines[1] and "train.py@abc123" in lines[1]
    assert lines[2].split()[:2] == ["2", "*"]
    versions = json.loads(ok(eddy, "model", "list", reg, "fraud", "--json").stdout)
    assert [(v["version"], v["live"]) for v in versions] == [(1, False), (2, True)]

    # show: metadata, lineage, live marker.
    text = ok(eddy, "model", "show", reg, "fraud", "1").stdout
    assert text.startswith("model fraud version 1 (not live)\n")
    for expected in ["linear_json (model.linear.json)", "binary_classification, output probability",
                     "1: amount", "source:      train.py@abc123",
                     "2024-04-01T00:00:00Z .. 2024-04-30T00:00:00Z", "C=1.0, penalty=l2",
                     "auc=0.91", "parent:      -"]:
        assert expected in text, (expected, text)
    v1 = json.loads(ok(eddy, "model", "show", reg, "fraud", "1", "--json").stdout)
    assert v1["lineage"] == {"source": "train.py@abc123", "data_from": "2024-04-01T00:00:00Z",
                             "data_to": "2024-04-30T00:00:00Z",
                             "parameters": {"C": "1.0", "penalty": "l2"},
                             "metrics": {"auc": 0.91}, "parent_version": None}
    assert "(live)" in ok(eddy, "model", "show", reg, "fraud").stdout.splitlines()[0]

    r = ok(eddy, "model", "rollback", reg, "fraud")
    assert r.stdout == "fraud: rolled back to version 1 (was version 2)\n"
    history = json.loads(ok(eddy, "model", "history", reg, "fraud", "--json").stdout)
    assert [(h["action"], h["version"], h["previous"]) for h in history] == [
        ("promote", 1, None), ("promote", 2, 1), ("rollback", 1, 2)]
    text = ok(eddy, "model", "history", reg, "fraud").stdout.splitlines()
    assert text[0].split() == ["at", "action", "version", "previous"]
    assert text[3].split()[1:] == ["rollback", "1", "2"]

    # Roll forward is a promote; --to names the version.
    ok(eddy, "model", "register", reg, "fraud", models[0])
    ok(eddy, "model", "promote", reg, "fraud", "3")
    assert json.loads(ok(eddy, "model", "rollback", reg, "fraud", "--to", "2", "--json").stdout)[
        "live"] == 2


def test_formats_are_detected(eddy, tmp_path, models):
    reg = tmp_path / "registry"
    meta = json.loads(ok(eddy, "model", "register", reg, "learner", SNAPSHOT, "--json").stdout)
    assert meta["format"] == "online_snapshot"
    assert meta["model_file"] == "model.snapshot"
    meta = json.loads(ok(eddy, "model", "register", reg, "lin", models[0], "--format", "linear",
                         "--json").stdout)
    assert meta["format"] == "linear_json"
    xgb = pytest.importorskip("xgboost")
    np = pytest.importorskip("numpy")
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 3))
    y = (x[:, 0] > 0).astype(int)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 2},
                        xgb.DMatrix(x, label=y, feature_names=["a", "b", "c"]), 3)
    booster.save_model(str(tmp_path / "x.json"))
    meta = json.loads(ok(eddy, "model", "register", reg, "trees", tmp_path / "x.json", "--json").stdout)
    assert meta["format"] == "xgboost_json"
    assert meta["feature_names"] == ["a", "b", "c"]
    assert meta["objective"] == "binary:logistic"


def test_same_content_twice_is_allowed_with_a_note(eddy, tmp_path, models):
    reg = tmp_path / "registry"
    ok(eddy, "model", "register", reg, "m", models[0])
    r = ok(eddy, "model", "register", reg, "m", models[0])
    assert "version 2 has the same content as version 1" in r.stderr


@pytest.mark.parametrize("args,code,message", [
    (["model"], 2, "usage: eddy model"),
    (["model", "frobnicate"], 2, "eddy model: unknown subcommand 'frobnicate'"),
    (["model", "list"], 2, "list takes REGISTRY [NAME]"),
    (["model", "list", "{reg}", "--bogus"], 2, "unknown option --bogus"),
    (["model", "show", "{reg}", "m", "latest"], 2, "'latest' is not a version number"),
    (["model", "promote", "{reg}", "m"], 2, "promote takes REGISTRY NAME VERSION"),
    (["model", "register", "{reg}", "bad/name", "{a}"], 2, "may only use letters"),
    (["model", "register", "{reg}", "m", "{a}", "--metric", "auc=high"], 2, "'high' is not a number"),
    (["model", "register", "{reg}", "m", "{a}", "--param", "novalue"], 2, "expected KEY=VALUE"),
    (["model", "register", "{reg}", "m", "{a}", "--param", "k=1", "--param", "k=2"], 2,
     "'k' is given twice"),
    (["model", "register", "{reg}", "m", "{a}", "--format", "onnx"], 2, "unknown model format 'onnx'"),
    (["model", "register", "{reg}", "m", "{a}", "--data-from", "yesterday"], 2, "--data-from"),
    (["model", "register", "{reg}", "m", "{a}", "--data-from", "2024-05-02", "--data-to",
      "2024-05-01"], 2, "--data-from is after --data-to"),
    (["model", "register", "{reg}", "m", "{a}", "--parent", "7"], 1, "--parent: model 'm' has no version 7"),
    (["model", "register", "{reg}", "m", "{missing}"], 1, "no such file"),
    (["model", "register", "{reg}", "m", "{a}", "--format", "xgboost_json"], 1, "cannot register"),
    (["model", "list", "{nowhere}"], 1, "no registry at"),
    (["model", "list", "{reg}", "nobody"], 1, "no model named 'nobody'"),
    (["model", "show", "{reg}", "m", "9"], 1, "model 'm' has no version 9"),
    (["model", "promote", "{reg}", "m", "9"], 1, "model 'm' has no version 9"),
    (["model", "rollback", "{reg}", "m"], 1, "no version is live"),
    (["model", "history", "{reg}", "nobody"], 1, "no model named 'nobody'"),
])
def test_errors_and_exit_codes(eddy, tmp_path, models, args, code, message):
    reg = tmp_path / "registry"
    ok(eddy, "model", "register", reg, "m", models[0])
    subst = {"reg": reg, "a": models[0], "missing": tmp_path / "missing.json",
             "nowhere": tmp_path / "nowhere"}
    r = run(eddy, *[a.format(**subst) for a in args])
    assert r.returncode == code, r.stderr
    assert message in r.stderr, r.stderr
    assert r.stdout == ""
    # Failures change nothing.
    assert json.loads(ok(eddy, "model", "list", reg, "--json").stdout)[0]["versions"] == 1
    assert not (tmp_path / "nowhere").exists()


def test_unservable_files_are_refused(eddy, tmp_path):
    reg = tmp_path / "registry"
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "eddy.linear", "version": 1, "link": "logistic", "bias": "x"}')
    r = run(eddy, "model", "register", reg, "m", bad)
    assert r.returncode == 1
    assert "bias" in r.stderr
    r = run(eddy, "model", "list", reg, "m")
    assert r.returncode == 1  # no version was written


def test_concurrent_registers_get_distinct_versions(eddy, tmp_path, models):
    reg = tmp_path / "registry"
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(
            lambda i: run(eddy, "model", "register", reg, "m", models[i % 2], "--json"), range(8)))
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    assert sorted(json.loads(r.stdout)["version"] for r in results) == list(range(1, 9))


PIPELINE = textwrap.dedent(
    """\
    version: 1
    sources:
      - name: tx
        format: jsonl
        path: tx.jsonl
        schema:
          fields:
            - {name: id, type: string, required: true}
            - {name: user, type: string}
            - {name: amount, type: double}
            - {name: ts, type: timestamp}
        event_time: ts
        key: user
        id: id
    models:
      - name: scorer
        source: tx
        registry: registry
        registry_name: fraud
        threshold: 0.5
        output: out/predictions.jsonl
    outputs:
      late: out/late.jsonl
      dead_letter: out/dead.jsonl
    """
)


def test_pipelines_serve_the_live_version(eddy, tmp_path, models):
    reg = tmp_path / "registry"
    (tmp_path / "pipeline.yaml").write_text(PIPELINE)
    (tmp_path / "tx.jsonl").write_text("".join(
        json.dumps({"id": f"t{i}", "user": "u", "amount": float(i), "ts": f"2024-05-01T00:00:0{i}Z"})
        + "\n" for i in range(4)))

    def scores():
        r = run(eddy, "run", tmp_path / "pipeline.yaml", "--quiet")
        assert r.returncode == 0, r.stderr
        rows = [json.loads(l) for l in (tmp_path / "out" / "predictions.jsonl").read_text().splitlines()]
        assert {row["version"] for row in rows} == {rows[0]["version"]}
        return rows[0]["version"], [row["decision"] for row in rows]

    # Nothing registered or live: the pipeline does not start, and says why.
    r = run(eddy, "run", tmp_path / "pipeline.yaml", "--quiet")
    assert r.returncode == 1 and "registry" in r.stderr, r.stderr
    assert not reg.exists()  # reading a pipeline creates no registry
    ok(eddy, "model", "register", reg, "fraud", models[0])
    ok(eddy, "model", "register", reg, "fraud", models[1])
    r = run(eddy, "run", tmp_path / "pipeline.yaml", "--quiet")
    assert r.returncode == 1 and "has no live version" in r.stderr, r.stderr

    ok(eddy, "model", "promote", reg, "fraud", "2")
    assert scores() == (2, [True, True, True, False])  # 1 - 0.5 amount >= 0
    ok(eddy, "model", "rollback", reg, "fraud")
    assert scores() == (1, [True, True, True, True])  # 0.5 amount
    assert "model scorer (static v1)" in run(eddy, "run", tmp_path / "pipeline.yaml",
                                              "--quiet").stderr
