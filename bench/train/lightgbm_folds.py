"""make bench-train, the reference side: LightGBM (pinned in scripts/bench-train) on the folds `quorum bench-train`
wrote (DIR/<symbol>.csv: label and features per row; DIR/quorum.json: each fold's fit, stop and test row ranges and
Quorum's figures). Same hyperparameters as Quorum's gbdt, one thread, deterministic; early stopping on the fold's
stopping rows. Times Dataset construction (binning) and training, as Quorum's figure covers binning and boosting.
Prints a table and one line `lightgbm auc=A seconds=S gbdt_auc=A gbdt_seconds=S` (means per fold, total seconds)."""
import json
import sys
import time

import lightgbm as lgb
import numpy as np


def auc(scores, labels):
    """Area under the ROC curve from ranks (ties share their average rank), as Quorum computes it."""
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    positives = labels.sum()
    negatives = len(labels) - positives
    return (ranks[labels == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives)


def main(folder):
    quorum = json.load(open(f"{folder}/quorum.json"))
    h = quorum["hyperparameters"]
    params = {
        "objective": "binary", "num_threads": 1, "deterministic": True, "force_row_wise": True, "verbose": -1, "seed": 1,
        "num_leaves": int(h["max_leaves"]), "learning_rate": h["learning_rate"], "min_data_in_leaf": int(h["min_child_samples"]),
        "min_sum_hessian_in_leaf": h["min_child_hessian"], "lambda_l1": h["l1"], "lambda_l2": h["l2"],
        "min_gain_to_split": h["min_split_gain"], "bagging_fraction": h["row_subsample"], "bagging_freq": 1,
        "feature_fraction": h["column_subsample"], "max_bin": int(h["max_bins"]),
        "max_depth": int(h["max_depth"]) if h["max_depth"] > 0 else -1,
    }
    data = {}
    print("symbol   fold   LightGBM AUC  trees  seconds    Quorum AUC  trees  seconds")
    lgb_auc, lgb_seconds, q_auc, q_seconds = [], 0.0, [], 0.0
    for fold in quorum["folds"]:
        symbol = fold["symbol"]
        if symbol not in data:
            table = np.loadtxt(f"{folder}/{symbol}.csv", delimiter=",", skiprows=1)
            data[symbol] = (np.ascontiguousarray(table[:, 1:]), table[:, 0].astype(int))
        x, y = data[symbol]
        fit, stop, test = (slice(*fold[k]) for k in ("fit", "stop", "test"))
        started = time.perf_counter()
        train_set = lgb.Dataset(x[fit], y[fit], params={"max_bin": params["max_bin"], "verbose": -1})
        if fold["stop"][1] > fold["stop"][0] and h["early_stopping_rounds"] > 0:
            stop_set = lgb.Dataset(x[stop], y[stop], reference=train_set)
            booster = lgb.train(params, train_set, num_boost_round=int(h["rounds"]), valid_sets=[stop_set],
                                callbacks=[lgb.early_stopping(int(h["early_stopping_rounds"]), verbose=False)])
        else:
            booster = lgb.train(params, train_set, num_boost_round=int(h["rounds"]))
        seconds = time.perf_counter() - started
        trees = booster.best_iteration or booster.current_iteration()
        scores = booster.predict(x[test], num_iteration=trees, raw_score=True)
        a = auc(scores, y[test])
        lgb_auc.append(a)
        lgb_seconds += seconds
        q_auc.append(fold["gbdt_auc"])
        q_seconds += fold["gbdt_seconds"]
        print(f"{symbol:<8} {fold['fold']:4d}   {a:12.4f}  {trees:5d}  {seconds:7.3f}    "
              f"{fold['gbdt_auc']:10.4f}  {fold['gbdt_trees']:5d}  {fold['gbdt_seconds']:7.3f}")
    print(f"lightgbm auc={np.mean(lgb_auc):.5f} seconds={lgb_seconds:.4f} gbdt_auc={np.mean(q_auc):.5f} gbdt_seconds={q_seconds:.4f}")


if __name__ == "__main__":
    main(sys.argv[1])
