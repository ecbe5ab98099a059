#!/usr/bin/env python3
"""Splits generated data into a history part and a live part, by event time.

data/transactions.jsonl -> data/history.jsonl (the first FRACTION of the lines)
                           data/live.jsonl    (the rest)
                           data/cut.txt       (the cut's event time)
data/labels.jsonl       -> data/train_labels.jsonl (with the transaction's card and
                                                    merchant; chargebacks known by the cut:
                                                    label_time <= the cut)
                           data/live_labels.jsonl  (labels of live transactions)

The cut is the event time of the last history record: a model trained on the
history cannot have seen anything after it.
"""
import json
import sys


def main() -> int:
    data = sys.argv[1] if len(sys.argv) > 1 else "data"
    fraction = float(sys.argv[2]) if len(sys.argv) > 2 else 0.6
    with open(f"{data}/transactions.jsonl", "rb") as f:
        lines = f.readlines()
    cut = int(len(lines) * fraction)
    cut_time = None
    for line in reversed(lines[:cut]):
        try:
            cut_time = json.loads(line)["ts"]
            break
        except (ValueError, KeyError, TypeError):
            continue  # a deliberately broken record
    if cut_time is None:
        print("prepare.py: no valid record before the cut", file=sys.stderr)
        return 1
    with open(f"{data}/history.jsonl", "wb") as f:
        f.writelines(lines[:cut])
    with open(f"{data}/live.jsonl", "wb") as f:
        f.writelines(lines[cut:])
    # Labels name the transaction (tx_id) and the user; the card and the
    # merchant are looked up so that the card- and merchant-keyed feature
    # groups can be joined too (eddy training-set --group-keys).
    with open(f"{data}/labels.jsonl") as src:
        wanted = {json.loads(line)["tx_id"] for line in src}
    refs = {}
    for line in lines:
        try:
            tx = json.loads(line)
            if tx["tx_id"] in wanted:
                refs[tx["tx_id"]] = (tx["card_id"], tx["merchant_id"])
        except (ValueError, KeyError, TypeError):
            continue
    train = live = 0
    with open(f"{data}/labels.jsonl") as src, open(f"{data}/train_labels.jsonl", "w") as t, \
            open(f"{data}/live_labels.jsonl", "w") as l:
        for line in src:
            # ISO-8601 UTC strings of one format compare in time order.
            label = json.loads(line)
            if label["tx_id"] in refs:
                label["card_id"], label["merchant_id"] = refs[label["tx_id"]]
            line = json.dumps(label, separators=(",", ":")) + "\n"
            if label["label_time"] <= cut_time:
                t.write(line)
                train += 1
            elif label["tx_time"] > cut_time:
                l.write(line)
                live += 1
            # Labels of history transactions that arrive after the cut would
            # match no prediction of the live run: left out.
    with open(f"{data}/cut.txt", "w") as f:
        f.write(cut_time + "\n")
    print(f"prepare.py: cut at {cut_time}: {cut:,} history / {len(lines) - cut:,} live "
          f"transactions; {train:,} chargebacks for training, {live:,} arriving live",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
