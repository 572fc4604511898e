"""Fit the multi-hop ranker (``sgmcp/hop_ranker.py``) on spent multi-hop question sets.

    python -m evals.multihop_fit --sets dev,heldout,...,fresh19 [--cache FILE] [--jobs 2] [--write] [--json OUT]

Every question of the sets is asked with the learned step off (``multi_hop_search(..., learned=False)``), and
the first ``RERANK_N`` candidates of the hand order are kept with their ``hop_ranker.FEATURES`` and whether
each is a gold answer (``evals.suite.hits``). A conditional logit (softmax over each question's candidates,
L2, full-batch gradient descent from the hand score: deterministic) is fitted:

* leaving each set out in turn and answering it (``loso``: rank-1 answers of the hand order and of the
  model on the sets it never saw; and how often the model's first answer is right by its probability,
  which sets the confidence the agent is told);
* then on all the sets: ``--write`` ships those weights as ``sgmcp/hop_ranker.json``.

``--cache`` keeps the collected candidates by set (a refit asks only the sets it does not hold yet). The indexes
are those of ``evals.multihop_eval`` (``evals/data/mh/ad-<corpus>-<version>``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from evals.corpora import CORPORA_DIR, corpus_for
from evals.multihop_eval import _suites
from evals.suite import hits

L2, ITERS, LR = 1.0, 400, 0.1
BINS = (0.0, 0.3, 0.45, 0.6, 0.75, 1.01)

Group = tuple[np.ndarray, np.ndarray]  # (candidates x FEATURES, gold 0/1 per candidate)


def collect_set(name: str, index_root: str = "evals/data/mh", prefix: str = "ad-") -> list[dict[str, Any]]:
    """The hand order's first candidates of every question of one set, with features and gold labels."""
    os.environ.setdefault("SGMCP_MULTIHOP_LLM", "0")
    os.environ.setdefault("SGMCP_MULTIHOP_BUDGET_MS", "5000")  # as evals.multihop_eval, whatever the load
    from sgmcp.engine import Engine
    from sgmcp.hop_ranker import RERANK_N
    from sgmcp.multihop import multi_hop_search

    out = []
    for suite in _suites("" if name == "dev" else name):
        corpus = corpus_for(suite)
        assert corpus is not None, suite
        engine = Engine(corpus.path(CORPORA_DIR), str(Path(index_root) / f"{prefix}{corpus.dirname}"))
        for line in filter(str.strip, suite.read_text().splitlines()):
            rec = json.loads(line)
            ranked = multi_hop_search(engine, rec["query"], 10, 3, llm=False, learned=False).ranked[:RERANK_N]
            gold = [any(hits({"path": r["path"], "symbol": r["qualname"], "start_line": r["start_line"],
                              "end_line": r["end_line"]}, g) for g in rec["gold"]) for r in ranked]
            out.append({"id": rec["id"], "set": name, "features": [r["features"] for r in ranked], "gold": gold,
                        "candidates": [r["qualname"] for r in ranked]})
    return out


def fit(groups: list[Group], l2: float = L2, iters: int = ITERS, lr: float = LR) -> dict[str, np.ndarray]:
    """Conditional logit weights (with the standardisation they apply to), started from the hand score."""
    from sgmcp.hop_ranker import FEATURES

    rows = np.concatenate([x for x, _ in groups])
    mean, scale = rows.mean(axis=0), rows.std(axis=0)
    scale[scale < 1e-6] = 1.0  # a constant feature
    w = np.zeros(len(FEATURES))
    w[FEATURES.index("score")] = scale[FEATURES.index("score")]  # = the hand order
    usable = [((x - mean) / scale, y / y.sum()) for x, y in groups if y.sum() > 0]
    for _ in range(iters):
        grad = l2 * w
        for x, t in usable:
            z = x @ w
            p = np.exp(z - z.max())
            grad += x.T @ (p / p.sum() - t)
        w -= lr * grad / len(usable)
    return {"mean": mean, "scale": scale, "weights": w}


def _groups(rows: list[dict[str, Any]]) -> list[Group]:
    return [(np.array(r["features"], dtype=float), np.array(r["gold"], dtype=float)) for r in rows if r["features"]]


def loso(rows: list[dict[str, Any]], l2: float = L2, iters: int = ITERS) -> dict[str, Any]:
    """Each set answered by weights fitted on the others: rank-1 answers, hand vs model, and calibration."""
    from sgmcp.hop_ranker import FEATURES, HopRanker

    sets = list(dict.fromkeys(r["set"] for r in rows))
    by_set, predictions = {}, []
    score = FEATURES.index("score")
    for name in sets:
        ranker = HopRanker(**fit(_groups([r for r in rows if r["set"] != name]), l2, iters), meta={})
        hand = learned = 0
        for r in rows:
            if r["set"] != name:
                continue
            if not r["features"]:
                continue
            x, y = np.array(r["features"]), np.array(r["gold"])
            p = ranker.probabilities(x)
            hand += bool(y[int(np.argmax(x[:, score]))])
            learned += bool(y[int(np.argmax(p))])
            predictions.append((float(p.max()), bool(y[int(np.argmax(p))])))
        by_set[name] = {"n": sum(r["set"] == name for r in rows), "hand": hand, "learned": learned}
    calibration = []
    for lo, hi in pairwise(BINS):
        inside = [ok for p, ok in predictions if lo <= p < hi]
        calibration.append({"probability": [lo, min(hi, 1.0)], "n": len(inside),
                            "right": round(sum(inside) / len(inside), 3) if inside else None})
    return {"n": len(rows), "hand": sum(v["hand"] for v in by_set.values()),
            "learned": sum(v["learned"] for v in by_set.values()), "by_set": by_set, "calibration": calibration}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", required=True, help="comma-separated: dev, heldout, heldout2, fresh, fresh2, ...")
    ap.add_argument("--cache", default=None, help="collected candidates: sets not in it are collected and added")
    ap.add_argument("--jobs", type=int, default=2, help="sets collected in parallel")
    ap.add_argument("--l2", type=float, default=L2)
    ap.add_argument("--iters", type=int, default=ITERS)
    ap.add_argument("--write", action="store_true", help="fit on all the sets and write sgmcp/hop_ranker.json")
    ap.add_argument("--json", default=None, help="write the leave-one-set-out report here")
    args = ap.parse_args(argv)
    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    cache = Path(args.cache) if args.cache else None
    cached = json.loads(cache.read_text()) if cache is not None and cache.exists() else []
    from sgmcp.hop_ranker import FEATURES

    if any(len(f) != len(FEATURES) for r in cached for f in r["features"]):
        ap.error(f"{cache} was collected with other features than this version's {len(FEATURES)}: use a new cache")
    missing = [s for s in sets if s not in {r["set"] for r in cached}]
    if missing:
        with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            cached += [r for part in pool.map(collect_set, missing) for r in part]
        if cache is not None:
            cache.write_text(json.dumps(cached))
    rows = [r for r in cached if r["set"] in sets]
    report = loso(rows, args.l2, args.iters)
    print(f"leave one set out, {report['n']} questions: rank 1 hand {report['hand']}, learned {report['learned']}")
    for name, v in report["by_set"].items():
        print(f"  {name:10s} {v['n']:3d}  hand {v['hand']:3d}  learned {v['learned']:3d}")
    for b in report["calibration"]:
        print(f"  probability {b['probability'][0]:.2f}-{b['probability'][1]:.2f}: {b['n']:4d} answers, right {b['right']}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    if args.write:
        from sgmcp.hop_ranker import WEIGHTS_PATH, HopRanker

        meta = {"trained_on": sets, "questions": len(rows), "l2": args.l2, "iters": args.iters, "lr": LR,
                "loso": {k: report[k] for k in ("hand", "learned", "calibration")}}
        ranker = HopRanker(**fit(_groups(rows), args.l2, args.iters), meta=meta)
        WEIGHTS_PATH.write_text(json.dumps(ranker.as_json(), indent=1) + "\n")
        print(f"wrote {WEIGHTS_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
