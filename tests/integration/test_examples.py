"""The main job (scripts/demo.sh, examples/fraud) at a small size, end to end."""
import os
import pathlib
import subprocess

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
FRAUD = ROOT / "examples" / "fraud"


def test_backfill_and_live_pipelines_share_sources_and_features():
    history = yaml.safe_load((FRAUD / "history.yaml").read_text())
    live = yaml.safe_load((FRAUD / "pipeline.yaml").read_text())
    assert history["features"] == live["features"], "the model must see the features it was trained on"
    h_tx = dict(history["sources"][0])
    l_tx = dict(live["sources"][0])
    h_tx.pop("path")
    l_tx.pop("path")
    assert h_tx == l_tx


def test_demo_runs_end_to_end_at_a_small_size():
    env = dict(os.environ, EDDY_DEMO_EVENTS="90000", EDDY_DEMO_RATE="100000", EDDY_DEMO_QPS="100")
    r = subprocess.run(["bash", str(ROOT / "scripts" / "demo.sh")], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=600)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-4000:]
    # Every phase ran and reported.
    assert "pipeline 'fraud_backfill' finished (inputs ended)" in out
    assert "training set data/train.csv:" in out
    assert "promoted version 1" in out
    assert "pipeline 'fraud' finished (inputs ended)" in out
    assert "model fraud_gbdt (static v1)" in out and "model fraud_online (online" in out
    assert "HTTP predict:" in out
    assert "what the fraud service saw over HTTP" in out
    outdir = FRAUD / "out"
    for name in ["features.jsonl", "predictions_gbdt.jsonl", "predictions_online.jsonl", "audit.jsonl",
                 "dead_letter.jsonl", "late.jsonl"]:
        assert (outdir / name).stat().st_size > 0, name


QUICKSTART = ROOT / "examples" / "quickstart"


def test_readme_quotes_the_quickstart_pipeline():
    readme = (ROOT / "README.md").read_text()
    assert "```yaml\n" + (QUICKSTART / "pipeline.yaml").read_text() + "```" in readme


def test_quickstart_gives_the_rows_the_readme_shows(eddy, tmp_path):
    import json
    import shutil
    work = tmp_path / "quickstart"
    shutil.copytree(QUICKSTART, work, ignore=shutil.ignore_patterns("out", "state"))
    r = subprocess.run([eddy, "run", "pipeline.yaml"], cwd=work, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    readme = (ROOT / "README.md").read_text()
    features = (work / "out" / "features.jsonl").read_text().splitlines()
    predictions = (work / "out" / "predictions.jsonl").read_text().splitlines()
    # Every row the README shows is produced byte for byte.
    shown = [line for line in readme.splitlines() if line.startswith('{"source":"transactions","id"')
             or line.startswith('{"model":"risk"')]
    assert len(shown) == 3
    for line in shown:
        assert line in features or line in predictions, line
    rows = {json.loads(x)["id"]: json.loads(x) for x in features}
    assert len(rows) == 8 and "t6" not in rows and "t8" not in rows
    dead = [json.loads(x) for x in (work / "out" / "dead_letter.jsonl").read_text().splitlines()]
    assert [(d["error"], d["field"]) for d in dead] == [("wrong_type", "amount")]
    late = [json.loads(x) for x in (work / "out" / "late.jsonl").read_text().splitlines()]
    assert [x["id"] for x in late] == ["t8"]
    hourly = [json.loads(x) for x in (work / "out" / "user_hourly.jsonl").read_text().splitlines()]
    assert {(h["key"], h["window_start"][11:16]): h["n"] for h in hourly} == {
        ("u1", "12:00"): 4, ("u2", "12:00"): 1, ("u3", "12:00"): 1, ("u1", "13:00"): 1,
        ("u2", "13:00"): 1}


def test_datagen_readme_shows_the_source_the_generator_prints(bin_dir):
    """tools/datagen/README.md quotes `eddy-datagen --source --out tx.jsonl`
    exactly, and that source accepts every well-formed record it generates
    (checked by the crash and replay tests, which read the same text)."""
    printed = subprocess.run([str(bin_dir / "eddy-datagen"), "--source", "--out", "tx.jsonl"],
                             check=True, capture_output=True, text=True).stdout
    readme = (ROOT / "tools" / "datagen" / "README.md").read_text()
    block = readme.split("```yaml\nsources:\n", 1)[1].split("```", 1)[0]
    assert block == printed
    csv = subprocess.run([str(bin_dir / "eddy-datagen"), "--source", "--format", "csv"],
                         check=True, capture_output=True, text=True).stdout
    assert csv.startswith('  - name: tx\n    format: csv\n    path: "-"\n')
