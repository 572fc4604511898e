"""Tune the hybrid fusion weights on CoSQA dev without grading on the queries that chose them.

The 500 dev queries are split by index parity: even -> ``tune``, odd -> ``check``. Each query's ranked
lists (dense, bm25, name, symbol, path) are fetched once from the engine, exactly as
``Engine.semantic_candidates`` fetches them; every weight setting then re-fuses them with
``sgmcp.ranking.fuse`` + ``apply_code_rules`` + ``drop_overlaps`` (no encoder calls in the grid).

Grid: dense fixed at 1.0; bm25 in {0, .1, .2, .3, .5, 1}; name in {0, .25, .5, 1}; symbol and path
kept at their ``HYBRID_WEIGHTS`` values. The best setting is picked by MRR on ``tune`` alone (ties:
Acc@1, then the smaller total weight), and reported on both halves next to the current
``HYBRID_WEIGHTS`` (or ``--baseline``), with a paired bootstrap of the MRR change on ``check``.

    python -m evals.tune_fusion --json evals/reports/tune_fusion.json
    python -m evals.tune_fusion --baseline '{"bm25": 0.3, "name": 0.5}'   # compare with other weights
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from evals.common import aggregate, git_head, machine, metrics, paired_bootstrap, write_reports
from evals.cosqa import DEFAULT_WORK, K, fused, load_queries, prepare, query_lists, ranked_files

BM25_GRID = (0.0, 0.1, 0.2, 0.3, 0.5, 1.0)
NAME_GRID = (0.0, 0.25, 0.5, 1.0)
# The only columns fuse / apply_code_rules / drop_overlaps read; slimming the cached rows keeps
# 500 queries x ~1,500 rows small.
_KEEP = ("id", "path", "kind", "start_line", "end_line")


def cache_lists(engine: Any, queries: list[dict[str, Any]], k: int = K) -> list[dict[str, list[dict[str, Any]]]]:
    out = []
    started = time.perf_counter()
    for n, q in enumerate(queries, 1):
        lists = query_lists(engine, q["query"], k)
        out.append({name: [{c: row[c] for c in _KEEP} for row in rows] for name, rows in lists.items()})
        if n % 100 == 0 or n == len(queries):
            print(f"  cached lists for {n}/{len(queries)} queries ({time.perf_counter() - started:.0f}s)",
                  file=sys.stderr, flush=True)
    return out


def score(queries: list[dict[str, Any]], cached: list[dict[str, list[dict[str, Any]]]],
          weights: dict[str, float], k: int = K) -> list[dict[str, float]]:
    return [metrics(ranked_files(fused(lists, weights, q["query"], k)), {q["gold"]}, k)
            for q, lists in zip(queries, cached)]


def halves(per_query: list[dict[str, float]], queries: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    tune = [m for m, q in zip(per_query, queries) if q["i"] % 2 == 0]
    check = [m for m, q in zip(per_query, queries) if q["i"] % 2 == 1]
    return {"tune": aggregate(tune), "check": aggregate(check), "all": aggregate(per_query)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.tune_fusion", description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=None, help="encoder: base | default | PATH")
    ap.add_argument("--work", type=Path, default=DEFAULT_WORK)
    ap.add_argument("--limit", type=int, default=None, help="first N dev queries only")
    ap.add_argument("--baseline", default=None,
                    help='JSON merged onto HYBRID_WEIGHTS to compare against (default: HYBRID_WEIGHTS as they are)')
    ap.add_argument("--json", dest="json_out", type=Path, default=None)
    args = ap.parse_args(argv)

    from sgmcp.engine import HYBRID_WEIGHTS

    when = datetime.now(timezone.utc).isoformat(timespec="seconds")
    box, head = machine(), git_head()
    engine, index_info = prepare(args.work, args.model)
    queries = load_queries(limit=args.limit)
    cached = cache_lists(engine, queries)
    fired = {name: sum(1 for lists in cached if lists.get(name)) for name in ("dense", "bm25", "name", "symbol", "path")}

    current = {**HYBRID_WEIGHTS, **(json.loads(args.baseline) if args.baseline else {})}
    current_pq = score(queries, cached, current)
    grid = []
    for bm25, name in itertools.product(BM25_GRID, NAME_GRID):
        weights = {**current, "dense": 1.0, "bm25": bm25, "name": name}
        pq = score(queries, cached, weights)
        grid.append({"bm25": bm25, "name": name, "weights": weights, **halves(pq, queries), "_pq": pq})
    best = max(grid, key=lambda g: (g["tune"]["mrr"], g["tune"]["p@1"], -(g["bm25"] + g["name"])))
    check_idx = [n for n, q in enumerate(queries) if q["i"] % 2 == 1]
    boot = paired_bootstrap([current_pq[n]["rr"] for n in check_idx], [best["_pq"][n]["rr"] for n in check_idx])
    boot_all = paired_bootstrap([m["rr"] for m in current_pq], [m["rr"] for m in best["_pq"]])

    print("bm25  name | tune MRR  check MRR | all MRR  Acc@1  R@10")
    for g in grid:
        mark = " <- best on tune" if g is best else (" <- baseline" if g["weights"] == current else "")
        print(f"{g['bm25']:4.2f} {g['name']:5.2f} |  {g['tune']['mrr']:.4f}    {g['check']['mrr']:.4f} | "
              f"{g['all']['mrr']:.4f} {g['all']['p@1']:.4f} {g['all']['r@10']:.4f}{mark}")
    cur = halves(current_pq, queries)
    print(f"baseline {current}: tune {cur['tune']['mrr']:.4f}, check {cur['check']['mrr']:.4f}, all {cur['all']['mrr']:.4f}")
    print(f"best     {best['weights']}: tune {best['tune']['mrr']:.4f}, check {best['check']['mrr']:.4f}, "
          f"all {best['all']['mrr']:.4f}")
    print(f"check-half MRR change best - baseline: {boot}")

    report = {
        "benchmark": "CoSQA retrieval, dev split; tune = even query index, check = odd", "date": when,
        "command": "python -m evals.tune_fusion " + " ".join(argv if argv is not None else sys.argv[1:]),
        "git_head": head, "hybrid_weights_in_engine": dict(HYBRID_WEIGHTS), "model": args.model or os.environ.get("SGMCP_MODEL") or "default", "encoder": index_info["encoder"],
        "machine": box, "k": K, "queries": len(queries), "lists_fired": fired,
        "grid_axes": {"bm25": BM25_GRID, "name": NAME_GRID, "dense": 1.0,
                      "fixed": {"symbol": current.get("symbol"), "path": current.get("path")}},
        "baseline": {"weights": current, **cur},
        "best": {"weights": best["weights"], "tune": best["tune"], "check": best["check"], "all": best["all"]},
        "check_mrr_change_best_minus_baseline": boot, "all_mrr_change_best_minus_baseline": boot_all,
        "grid": [{k: v for k, v in g.items() if k != "_pq"} for g in grid],
    }
    if args.json_out:
        write_reports(report, args.json_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
