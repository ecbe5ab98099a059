"""Writes real trained models with the benchmark's shape (200 trees of depth 6
over 30 features) for bench/model_bench.cc:

    .venv/bin/python tests/integration/model/make_bench_models.py OUT_DIR
    EDDY_BENCH_XGB_MODEL=OUT_DIR/xgb_200x6.json \
    EDDY_BENCH_LGB_MODEL=OUT_DIR/lgb_200x6.txt build/release/bin/model_bench

Also prints the libraries' own single-row predict latency (through Python, so
it includes the Python call overhead) for comparison.
"""

import pathlib
import sys
import time

import lightgbm as lgb
import numpy as np
import xgboost as xgb


def main():
    out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    n, f = 50000, 30
    X = rng.normal(size=(n, f))
    X[rng.random((n, f)) < 0.05] = np.nan
    w = rng.normal(size=f)
    y = (np.nan_to_num(X) @ w + np.sin(3 * np.nan_to_num(X[:, 0])) + rng.normal(size=n) > 0)
    y = y.astype(int)

    booster = xgb.train({"objective": "binary:logistic", "max_depth": 6, "eta": 0.1,
                         "tree_method": "hist", "nthread": 1},
                        xgb.DMatrix(X, label=y), num_boost_round=200)
    xgb_path = out / "xgb_200x6.json"
    booster.save_model(str(xgb_path))

    lgb_booster = lgb.train({"objective": "binary", "num_leaves": 64, "max_depth": 6,
                             "min_data_in_leaf": 5, "verbose": -1, "num_threads": 1},
                            lgb.Dataset(X, label=y), num_boost_round=200)
    lgb_path = out / "lgb_200x6.txt"
    lgb_booster.save_model(str(lgb_path))
    print(f"wrote {xgb_path} and {lgb_path}")

    row = X[:1]
    for name, fn in [("xgboost inplace_predict", lambda: booster.inplace_predict(row)),
                     ("lightgbm predict", lambda: lgb_booster.predict(row, num_threads=1))]:
        fn()
        reps = 2000
        t = time.perf_counter()
        for _ in range(reps):
            fn()
        print(f"{name}: {(time.perf_counter() - t) / reps * 1e6:.1f} us per row (from Python)")


if __name__ == "__main__":
    main()
