#!/usr/bin/env python3
"""Trains the fraud GBDT on a point-in-time training set (eddy training-set).

usage: train.py TRAINING_SET.csv MODEL.json METRICS.json

The feature columns are every column but the label's own (tx_id, user_id,
card_id, merchant_id, tx_time, label); their names are the pipeline's feature names, so the model
reads them straight from the feature rows. The last 20% of the rows by time
validate the model; the metrics go to METRICS.json (for the registry's
lineage).
"""
import json
import sys

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.metrics import roc_auc_score


def main() -> int:
    src, model_path, metrics_path = sys.argv[1:4]
    df = pd.read_csv(src).sort_values("tx_time")
    label = df["label"].astype(int)
    features = df.drop(columns=[c for c in ("tx_id", "user_id", "card_id", "merchant_id", "tx_time",
                                            "label", "label_time", "fraud_type") if c in df.columns])
    features = features.apply(pd.to_numeric, errors="coerce")
    split = int(len(df) * 0.8)
    model = xgb.XGBClassifier(n_estimators=200, max_depth=6, learning_rate=0.1,
                              subsample=0.9, colsample_bytree=0.9, tree_method="hist",
                              objective="binary:logistic", random_state=42)
    model.fit(features.iloc[:split], label.iloc[:split])
    valid = model.predict_proba(features.iloc[split:])[:, 1]
    auc = roc_auc_score(label.iloc[split:], valid) if label.iloc[split:].nunique() == 2 else float("nan")
    model.get_booster().save_model(model_path)
    metrics = {"rows": int(len(df)), "positives": int(label.sum()), "features": int(features.shape[1])}
    if auc == auc:  # not NaN: the validation part had both classes
        metrics["validation_auc"] = round(float(auc), 4)
    with open(metrics_path, "w") as f:
        json.dump(metrics, f)
    print(f"train.py: {len(df):,} rows, {features.shape[1]} features, "
          f"validation AUC {auc:.3f} on the latest 20%", file=sys.stderr)
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
