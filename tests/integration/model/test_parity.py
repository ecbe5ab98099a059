"""Parity of Eddy's tree-ensemble evaluators with XGBoost and LightGBM.

For every supported objective, trains a small model with the real library on
generated data (numeric features with missing values, categorical features),
saves it in the library's own format, scores a few thousand rows (random rows
plus edge cases: NaN, zeros, values exactly at and one float32 step around the
split thresholds, out-of-range / negative / fractional / huge categories) with
the library and with Eddy's `model_score` tool, and requires
|eddy - library| <= 1e-6 for every row and output.

Setup:  scripts/python-env.sh   (creates .venv with pinned versions)
Run:    EDDY_BIN_DIR=build/release/bin .venv/bin/python -m pytest tests/integration/model
"""

import json
import math
import os
import pathlib
import subprocess

import numpy as np
import pandas as pd
import pytest

xgb = pytest.importorskip("xgboost")
lgb = pytest.importorskip("lightgbm")

REPO = pathlib.Path(__file__).resolve().parents[3]
BIN_DIR = pathlib.Path(os.environ.get("EDDY_BIN_DIR", REPO / "build" / "release" / "bin"))
TOLERANCE = 1e-6

NUMERIC = [f"x{i}" for i in range(6)]
CATEGORICAL = ["color", "shop"]  # 5 and 40 categories
FEATURES = NUMERIC + CATEGORICAL
N_TRAIN = 3000
N_RANDOM_ROWS = 3000


def model_score():
    tool = BIN_DIR / "model_score"
    if not tool.exists():
        pytest.fail(f"{tool} not found: build the model_score target or set EDDY_BIN_DIR")
    return tool


def make_data(seed, n):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, len(NUMERIC)))
    # Missing values in two features, some exact zeros in another.
    X[rng.random(n) < 0.15, 1] = np.nan
    X[rng.random(n) < 0.05, 3] = np.nan
    X[rng.random(n) < 0.2, 4] = 0.0
    color = rng.integers(0, 5, n)
    shop = rng.integers(0, 40, n)
    margin = (
        1.5 * X[:, 0]
        - np.nan_to_num(X[:, 1]) * 0.8
        + np.sin(3 * X[:, 2])
        + (color % 2) * 1.2
        - (shop % 7 == 3) * 2.0
        + 0.3 * rng.normal(size=n)
    )
    return X, color, shop, margin


def frame(X, color, shop):
    df = pd.DataFrame(X, columns=NUMERIC)
    df["color"] = pd.Categorical(color, categories=range(5))
    df["shop"] = pd.Categorical(shop, categories=range(40))
    return df


def dense(X, color, shop):
    return np.column_stack([X, color.astype(float), shop.astype(float)])


def edge_rows(thresholds):
    """Rows that probe the comparison rules: thresholds and their float32
    neighbours, NaN, zeros, and unusual category values."""
    rows = []
    base = np.zeros(len(FEATURES))
    for feature, values in thresholds.items():
        j = FEATURES.index(feature)
        for t in values[:40]:
            f32 = np.float32(t)
            for v in (
                t,
                float(f32),
                float(np.nextafter(f32, np.float32(np.inf))),
                float(np.nextafter(f32, np.float32(-np.inf))),
                float(np.nextafter(t, math.inf)),
                float(np.nextafter(t, -math.inf)),
            ):
                r = base.copy()
                r[j] = v
                rows.append(r)
    for j in range(len(FEATURES)):
        for v in (np.nan, 0.0, -0.0, 1e-36, -1e-36, 1e-30, 1e300, -1e300):
            r = base.copy()
            r[j] = v
            rows.append(r)
    for j in (FEATURES.index("color"), FEATURES.index("shop")):
        for v in (-1.0, -0.5, -0.0, 0.5, 1.7, 2.0, 4.999, 39.0, 40.0, 45.0, 63.0, 64.0, 1e6,
                  16777215.0, 16777216.0, 3e9, -3e9, np.nan):
            r = base.copy()
            r[j] = v
            rows.append(r)
    all_nan = np.full(len(FEATURES), np.nan)
    rows.append(all_nan)
    return np.array(rows)


def scoring_rows(thresholds, seed, float32_range=False):
    X, color, shop, _ = make_data(seed, N_RANDOM_ROWS)
    rows = np.vstack([dense(X, color, shop), edge_rows(thresholds)])
    if float32_range:
        # XGBoost refuses inputs that overflow float32 (it reads them as inf).
        big = np.nan_to_num(np.abs(rows), nan=0.0) > np.finfo(np.float32).max
        rows = rows[~big.any(axis=1)]
    return rows


def write_csv(path, rows):
    with open(path, "w") as f:
        f.write(",".join(FEATURES) + "\n")
        for r in rows:
            f.write(",".join("" if math.isnan(v) else repr(float(v)) for v in r) + "\n")


def eddy_scores(model_path, csv_path, batch=False):
    cmd = [str(model_score())] + (["--batch"] if batch else []) + [str(model_path), str(csv_path)]
    out = subprocess.run(cmd, check=False, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return np.array([[float(v) for v in line.split(",")] for line in out.stdout.splitlines()])


def compare(tmp_path, model_path, rows, expected):
    csv = tmp_path / "rows.csv"
    write_csv(csv, rows)
    got = eddy_scores(model_path, csv)
    expected = np.asarray(expected, dtype=np.float64).reshape(got.shape)
    diff = np.abs(got - expected)
    worst = int(np.argmax(diff.max(axis=1)))
    assert diff.max() <= TOLERANCE, (
        f"max |eddy - library| = {diff.max():.3g} at row {worst}: "
        f"row={rows[worst].tolist()} eddy={got[worst].tolist()} library={expected[worst].tolist()}"
    )
    batch = eddy_scores(model_path, csv, batch=True)
    assert np.array_equal(batch, got), "PredictBatch differs from Predict"
    print(f"{model_path.name}: {len(rows)} rows, max |eddy - library| = {diff.max():.3g}")
    return diff.max()


# --------------------------------------------------------------------- XGBoost

def xgb_thresholds(model_path):
    model = json.loads(pathlib.Path(model_path).read_text())
    learner = model["learner"]
    names = learner["feature_names"]
    out = {}
    for tree in learner["gradient_booster"]["model"]["trees"]:
        for i, left in enumerate(tree["left_children"]):
            if left != -1 and tree["split_type"][i] == 0:
                out.setdefault(names[tree["split_indices"][i]], []).append(
                    tree["split_conditions"][i])
    return out


XGB_CASES = [
    ("reg:squarederror", {}),
    ("reg:absoluteerror", {}),
    ("reg:logistic", {}),
    ("binary:logistic", {}),
    ("binary:logistic", {"max_cat_to_onehot": 8}),  # one-hot splits for "color"
    ("binary:logitraw", {}),
    ("multi:softprob", {"num_class": 3}),
    ("multi:softmax", {"num_class": 3}),
]


@pytest.mark.parametrize("objective,extra", XGB_CASES, ids=[
    f"{o}{'-' + '-'.join(f'{k}{v}' for k, v in e.items()) if e else ''}" for o, e in XGB_CASES])
def test_xgboost(tmp_path, objective, extra):
    X, color, shop, margin = make_data(1, N_TRAIN)
    if objective.startswith("multi:"):
        y = np.digitize(margin, np.quantile(margin, [1 / 3, 2 / 3]))
    elif objective in ("reg:logistic",):
        y = 1 / (1 + np.exp(-margin))
    elif objective.startswith("binary:"):
        y = (margin > 0.5).astype(int)
    else:
        y = 10 * margin + 50  # values far from 0 exercise float32 sums
    dtrain = xgb.DMatrix(frame(X, color, shop), label=y, enable_categorical=True)
    params = {"objective": objective, "max_depth": 5, "eta": 0.3, "seed": 3,
              "tree_method": "hist", "max_cat_to_onehot": 1, **extra}
    booster = xgb.train(params, dtrain, num_boost_round=30)
    path = tmp_path / "model.json"
    booster.save_model(str(path))

    rows = scoring_rows(xgb_thresholds(path), seed=2, float32_range=True)
    dtest = xgb.DMatrix(rows, feature_names=FEATURES, feature_types=["q"] * 6 + ["c", "c"],
                        enable_categorical=True)
    expected = booster.predict(dtest)
    compare(tmp_path, path, rows, expected)


def test_xgboost_base_score_probability(tmp_path):
    """base_score is stored as a probability for logistic objectives."""
    X, color, shop, margin = make_data(4, 500)
    y = (margin > 2.0).astype(int)  # rare positives: base_score far from 0.5
    dtrain = xgb.DMatrix(frame(X, color, shop), label=y, enable_categorical=True)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 3, "base_score": 0.2},
                        dtrain, num_boost_round=3)
    path = tmp_path / "model.json"
    booster.save_model(str(path))
    rows = scoring_rows(xgb_thresholds(path), seed=5, float32_range=True)
    dtest = xgb.DMatrix(rows, feature_names=FEATURES, feature_types=["q"] * 6 + ["c", "c"],
                        enable_categorical=True)
    compare(tmp_path, path, rows, booster.predict(dtest))


# -------------------------------------------------------------------- LightGBM

def lgb_thresholds(booster):
    dump = booster.dump_model()
    names = dump["feature_names"]
    out = {}

    def walk(node):
        if "split_feature" not in node:
            return
        if node["decision_type"] == "<=":
            out.setdefault(names[node["split_feature"]], []).append(node["threshold"])
        walk(node["left_child"])
        walk(node["right_child"])

    for tree in dump["tree_info"]:
        walk(tree["tree_structure"])
    return out


LGB_CASES = [
    ("regression", {}),
    ("regression", {"use_missing": False}),
    ("regression_l1", {}),
    ("huber", {}),
    ("binary", {}),
    ("binary", {"zero_as_missing": True}),
    ("binary", {"sigmoid": 0.7}),
    ("multiclass", {"num_class": 3}),
    ("multiclassova", {"num_class": 3}),
    ("binary", {"boosting": "rf", "bagging_freq": 1, "bagging_fraction": 0.7}),
]


@pytest.mark.parametrize("objective,extra", LGB_CASES, ids=[
    f"{o}{'-' + '-'.join(f'{k}{v}' for k, v in e.items()) if e else ''}" for o, e in LGB_CASES])
def test_lightgbm(tmp_path, objective, extra):
    X, color, shop, margin = make_data(1, N_TRAIN)
    if objective.startswith("multiclass"):
        y = np.digitize(margin, np.quantile(margin, [1 / 3, 2 / 3]))
    elif objective == "binary":
        y = (margin > 0.5).astype(int)
    else:
        y = 10 * margin + 50
    data = dense(X, color, shop)
    train = lgb.Dataset(data, label=y, feature_name=FEATURES,
                        categorical_feature=["color", "shop"], free_raw_data=False)
    params = {"objective": objective, "num_leaves": 15, "learning_rate": 0.2, "verbose": -1,
              "min_data_per_group": 5, "cat_smooth": 1, "max_cat_to_onehot": 4, "seed": 3,
              "deterministic": True, "num_threads": 1, **extra}
    booster = lgb.train(params, train, num_boost_round=30)
    path = tmp_path / "model.txt"
    booster.save_model(str(path))
    loaded = lgb.Booster(model_file=str(path))

    rows = scoring_rows(lgb_thresholds(loaded), seed=2)
    expected = loaded.predict(rows)
    compare(tmp_path, path, rows, expected)


def test_lightgbm_pandas_categorical(tmp_path):
    """A model trained from a DataFrame with pandas category columns."""
    X, color, shop, margin = make_data(6, N_TRAIN)
    df = frame(X, color, shop)
    booster = lgb.train({"objective": "binary", "num_leaves": 15, "verbose": -1, "seed": 3,
                         "min_data_per_group": 5, "num_threads": 1},
                        lgb.Dataset(df, label=(margin > 0.5).astype(int)), num_boost_round=20)
    path = tmp_path / "model.txt"
    booster.save_model(str(path))
    loaded = lgb.Booster(model_file=str(path))
    rows = scoring_rows(lgb_thresholds(loaded), seed=7)
    # The library maps pandas categories to their codes; Eddy takes the codes.
    expected = loaded.predict(rows)
    compare(tmp_path, path, rows, expected)
