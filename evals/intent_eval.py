"""Train and evaluate the query intent router (sgmcp/router.py) on evals/intents/queries.jsonl.

    python -m evals.intent_eval                # evaluate the shipped weights on the test split
    python -m evals.intent_eval --train        # train on the train split, write sgmcp/router_weights.json,
                                               # then evaluate
    python -m evals.intent_eval --json OUT     # also write the metrics as JSON

Training is a multinomial logistic regression, full-batch gradient descent (heavy-ball momentum) from a
zero start, on the features of ``sgmcp.router.features``. The L2 strength is chosen by stratified 5-fold
cross-validation on the train split only; the test split is touched once, for the report. Everything
is deterministic: same data, same weights, byte for byte.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

# The matrices are tiny: BLAS threads only add contention (and make timings noisy on small machines).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

DATA = Path(__file__).resolve().parent / "intents" / "queries.jsonl"
SEED = 0
L2_GRID = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)
MIN_DF = 2
ITERS = 1000
LR = 1.0
MOMENTUM = 0.9
BIAS = "bias:1"
SPARSE_PREFIXES = ("w:", "b:", "c:", "first:", "last:")


def load_queries(path: Path = DATA) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


# ---------------------------------------------------------------------------------------------
# Training (numpy only here; the router itself needs none)


def _vocab(feature_dicts: list[dict[str, float]]) -> list[str]:
    df: Counter[str] = Counter()
    for fd in feature_dicts:
        df.update(fd.keys())
    # hand-designed features are always kept; n-grams must occur in MIN_DF training queries
    kept = sorted(k for k, c in df.items() if k != BIAS and (c >= MIN_DF or not k.startswith(SPARSE_PREFIXES)))
    return [BIAS] + kept


def _matrix(feature_dicts, vocab):
    import numpy as np

    index = {name: i for i, name in enumerate(vocab)}
    X = np.zeros((len(feature_dicts), len(vocab)), dtype=np.float64)
    for r, fd in enumerate(feature_dicts):
        for name, v in fd.items():
            j = index.get(name)
            if j is not None:
                X[r, j] = v
    return X


def train_lr(X, y, n_classes: int, l2: float, iters: int = ITERS, lr: float = LR, momentum: float = MOMENTUM):
    """Multinomial logistic regression; the bias lives in the always-on ``bias:1`` feature (not
    regularised). Returns the weight matrix (features x classes) and the final training loss."""
    import numpy as np

    n, d = X.shape
    Y = np.zeros((n, n_classes))
    Y[np.arange(n), y] = 1.0
    W = np.zeros((d, n_classes))
    V = np.zeros_like(W)
    reg = np.full((d, 1), l2)
    reg[0] = 0.0  # column 0 is the always-on bias feature
    loss = 0.0
    for _ in range(iters):
        Z = X @ W
        Z -= Z.max(axis=1, keepdims=True)
        P = np.exp(Z)
        P /= P.sum(axis=1, keepdims=True)
        G = X.T @ (P - Y) / n + reg * W
        V = momentum * V - lr * G
        W = W + V
    Z = X @ W
    Z -= Z.max(axis=1, keepdims=True)
    P = np.exp(Z)
    P /= P.sum(axis=1, keepdims=True)
    loss = float(-np.log(P[np.arange(n), y] + 1e-12).mean() + 0.5 * float((reg * W * W).sum()))
    return W, loss


def _folds(rows: list[dict], k: int = 5) -> list[int]:
    """Stratified fold of each row: within each intent, rows in id order are dealt round-robin."""
    import numpy as np

    rng = np.random.default_rng(SEED)
    fold = [0] * len(rows)
    by_intent: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        by_intent.setdefault(r["intent"], []).append(i)
    for intent in sorted(by_intent):
        idx = sorted(by_intent[intent], key=lambda i: rows[i]["id"])
        order = rng.permutation(len(idx))
        for pos, o in enumerate(order):
            fold[idx[o]] = pos % k
    return fold


def train(rows: list[dict], out: Path, *, verbose: bool = True) -> dict:
    import numpy as np

    from sgmcp.router import INTENTS, features

    train_rows = [r for r in rows if r["split"] == "train"]
    feats = [features(r["query"]) for r in train_rows]
    y = np.array([INTENTS.index(r["intent"]) for r in train_rows])
    folds = _folds(train_rows)

    cv: dict[float, float] = {}
    for l2 in L2_GRID:
        correct = 0
        for f in range(5):
            tr = [i for i in range(len(train_rows)) if folds[i] != f]
            va = [i for i in range(len(train_rows)) if folds[i] == f]
            vocab = _vocab([feats[i] for i in tr])
            W, _ = train_lr(_matrix([feats[i] for i in tr], vocab), y[tr], len(INTENTS), l2)
            pred = (_matrix([feats[i] for i in va], vocab) @ W).argmax(axis=1)
            correct += int((pred == y[va]).sum())
        cv[l2] = correct / len(train_rows)
        if verbose:
            print(f"  cv l2={l2:g}: accuracy {cv[l2]:.4f}", file=sys.stderr)
    best = max(L2_GRID, key=lambda l: (cv[l], l))  # ties -> stronger regularisation

    vocab = _vocab(feats)
    X = _matrix(feats, vocab)
    W, loss = train_lr(X, y, len(INTENTS), best)
    train_acc = float(((X @ W).argmax(axis=1) == y).mean())
    W = np.round(W, 4)
    assert vocab[0] == BIAS
    weights = {name: [float(v) for v in W[j]] for j, name in enumerate(vocab)
               if j > 0 and float(np.abs(W[j]).max()) >= 1e-4}
    meta = {"trained_on": str(DATA.relative_to(DATA.parents[2])), "n_train": len(train_rows), "l2": best,
            "cv_accuracy": round(cv[best], 4), "cv": {str(k): round(v, 4) for k, v in cv.items()},
            "train_accuracy": round(train_acc, 4), "train_loss": round(loss, 4), "features": len(weights),
            "iters": ITERS, "lr": LR, "momentum": MOMENTUM, "min_df": MIN_DF, "seed": SEED}
    data = {"format": 1, "intents": list(INTENTS), "bias": [float(v) for v in W[0]], "weights": weights,
            "meta": meta}
    out.write_text(json.dumps(data, separators=(",", ":"), sort_keys=True) + "\n", encoding="utf-8")
    if verbose:
        print(f"  wrote {out} ({out.stat().st_size // 1024} KiB, {len(weights)} features, l2={best:g}, "
              f"train accuracy {train_acc:.4f})", file=sys.stderr)
    return meta


# ---------------------------------------------------------------------------------------------
# Evaluation


def _percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(q / 100 * (len(xs) - 1))))]


def evaluate(rows: list[dict], weights: Path | None = None, repeats: int = 20) -> dict:
    from sgmcp.router import INTENTS, Router

    t0 = time.perf_counter()
    router = Router.load(weights)
    load_ms = (time.perf_counter() - t0) * 1000
    loads = []
    for _ in range(5):
        t0 = time.perf_counter()
        Router.load(weights)
        loads.append((time.perf_counter() - t0) * 1000)

    test = [r for r in rows if r["split"] == "test"]
    confusion = {a: {b: 0 for b in INTENTS} for a in INTENTS}
    errors = []
    for r in test:
        d = router.classify(r["query"])
        confusion[r["intent"]][d.intent] += 1
        if d.intent != r["intent"]:
            errors.append({"id": r["id"], "query": r["query"], "gold": r["intent"], "predicted": d.intent,
                           "confidence": round(d.confidence, 3)})
    per_intent = {}
    for k in INTENTS:
        n = sum(confusion[k].values())
        tp = confusion[k][k]
        predicted = sum(confusion[g][k] for g in INTENTS)
        per_intent[k] = {"n": n, "correct": tp, "accuracy": tp / n if n else 0.0,
                         "precision": tp / predicted if predicted else 0.0}
    correct = sum(confusion[k][k] for k in INTENTS)

    # Latency: every test query, `repeats` times; wall clock (what a caller waits) and this thread's CPU
    # time (the same minus preemption, which dominates the tail on a loaded machine). GC is paused
    # while timing, as timeit does.
    for r in test:  # warm-up
        router.classify(r["query"])
    times, cpu = [], []
    big = "def f(x):\n    return x * 2  # " + "y" * 40 + "\n"
    big = (big * (5000 // len(big) + 1))[:5000]
    big_times = []
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeats):
            for r in test:
                c0 = time.thread_time_ns()
                t0 = time.perf_counter_ns()
                router.classify(r["query"])
                times.append((time.perf_counter_ns() - t0) / 1e6)
                cpu.append((time.thread_time_ns() - c0) / 1e6)
            t0 = time.perf_counter_ns()
            router.classify(big)
            big_times.append((time.perf_counter_ns() - t0) / 1e6)
    finally:
        if gc_was:
            gc.enable()

    train_rows = [r for r in rows if r["split"] == "train"]
    train_correct = sum(router.classify(r["query"]).intent == r["intent"] for r in train_rows)
    rules_correct = sum(rules_baseline(r["query"]) == r["intent"] for r in test)
    return {
        "n_test": len(test), "n_train": len(train_rows),
        "accuracy": correct / len(test), "correct": correct,
        "train_accuracy": train_correct / len(train_rows),
        "rules_baseline_accuracy": rules_correct / len(test),
        "per_intent": per_intent, "confusion": confusion, "errors": errors,
        "latency_ms": {"p50": _percentile(times, 50), "p99": _percentile(times, 99), "max": max(times),
                       "mean": statistics.fmean(times), "calls": len(times),
                       "cpu_p50": _percentile(cpu, 50), "cpu_p99": _percentile(cpu, 99),
                       "paste_5000_chars_p50": _percentile(big_times, 50)},
        "load_ms": {"first": load_ms, "median": statistics.median(loads)},
        "model": router.meta,
    }


def rules_baseline(query: str) -> str:
    """Hand rules only (the router's cue features, fixed priority), for comparison with the model."""
    from sgmcp.router import features

    f = features(query)
    if f.get("f:single_ident"):
        return "find_definition"
    if f.get("cue:sim") or (f.get("f:multiline") and f.get("f:op_density", 0) > 0.4) or \
            f.get("f:op_density", 0) > 0.8:
        return "find_similar"
    if f.get("cue:how_used"):
        return "find_usage"
    if f.get("cue:where_should") or f.get("cue:what_change") or f.get("cue:to_support") or f.get("cue:i_want"):
        return "find_change"
    if f.get("cue:def"):
        return "find_definition"
    if f.get("cue:use"):
        return "find_usage"
    if f.get("cue:chg"):
        return "find_change"
    return "find_implementation"


def markdown(m: dict) -> str:
    from sgmcp.router import INTENTS

    lat = m["latency_ms"]
    lines = [
        f"### Intent router: test split ({m['n_test']} queries; trained on {m['n_train']})",
        "",
        f"**Accuracy {m['accuracy']:.1%}** ({m['correct']}/{m['n_test']}); train {m['train_accuracy']:.1%}; "
        f"rules-only baseline {m['rules_baseline_accuracy']:.1%}; "
        f"cv (train split) {m['model'].get('cv_accuracy', float('nan')):.1%}",
        "",
        "| intent | n | correct | accuracy (recall) | precision |",
        "|---|---:|---:|---:|---:|",
    ]
    for k in INTENTS:
        p = m["per_intent"][k]
        lines.append(f"| {k} | {p['n']} | {p['correct']} | {p['accuracy']:.1%} | {p['precision']:.1%} |")
    lines += ["", "Confusion (rows: gold, columns: predicted)", "",
              "| gold \\ predicted | " + " | ".join(k.removeprefix("find_") for k in INTENTS) + " |",
              "|---|" + "---:|" * len(INTENTS)]
    for g in INTENTS:
        lines.append(f"| {g} | " + " | ".join(str(m["confusion"][g][p]) for p in INTENTS) + " |")
    lines += ["", f"Latency over {lat['calls']} calls (wall clock unless noted)", "", "| latency | ms |", "|---|---:|",
              f"| classify p50 | {lat['p50']:.3f} |", f"| classify p99 | {lat['p99']:.3f} |",
              f"| classify max | {lat['max']:.3f} |",
              f"| classify CPU time p50 / p99 | {lat['cpu_p50']:.3f} / {lat['cpu_p99']:.3f} |",
              f"| classify, 5000-char paste (p50) | {lat['paste_5000_chars_p50']:.3f} |",
              f"| load weights (median) | {m['load_ms']['median']:.2f} |"]
    if m["errors"]:
        lines += ["", "Misclassified:", ""]
        for e in m["errors"]:
            q = e["query"].replace("\n", "\\n").replace("|", "\\|")
            lines.append(f"- `{e['id']}` {e['gold']} -> {e['predicted']} ({e['confidence']}): {q[:120]}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from sgmcp.router import WEIGHTS_PATH

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--train", action="store_true", help="train on the train split and write the weights")
    ap.add_argument("--json", metavar="OUT", help="write the metrics as JSON to OUT")
    ap.add_argument("--data", default=str(DATA), help="labelled queries (JSONL)")
    ap.add_argument("--weights", default=str(WEIGHTS_PATH), help="weights file to write/read")
    args = ap.parse_args(argv)

    rows = load_queries(Path(args.data))
    if args.train:
        train(rows, Path(args.weights))
    m = evaluate(rows, Path(args.weights))
    print(markdown(m))
    if args.json:
        Path(args.json).write_text(json.dumps(m, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
