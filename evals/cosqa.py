"""CoSQA code search on the dev split: natural-language web queries -> the one Python function that answers them.

The 6,267 functions of CoSQA's retrieval corpus are written one per file (``f{id}.py``) into a work
directory outside the repository, indexed with the real pipeline and encoder
(``index_repository(corpus, index, encoder=load_encoder(model))``; incremental, so a re-run with the
same work directory and model only checks the files), and each dev query is answered by one
:class:`sgmcp.engine.Engine` in four modes, top 100 chunks each:

* ``dense``   only the dense-vector list, through the product's fusion, code rules and overlap drop;
* ``bm25``    only the BM25 list, likewise;
* ``lexical`` ``Engine.lexical_search`` (BM25 + symbol/name/path lists with ``LEXICAL_WEIGHTS``);
* ``hybrid``  ``Engine.semantic_search`` with ``engine.weights`` (``HYBRID_WEIGHTS`` unless ``--weights``).

Results are chunks; a file can yield more than one (a function and a nested one), so files are ranked
by their first appearance. The gold file is ``f{retrieval_idx}.py``; reciprocal rank is 0 when it is
not in the top 100. Hybrid latency is timed on ``semantic_search`` itself (k=100 as evaluated, and
k=10 as an agent would usually call it).

    python -m evals.cosqa --json evals/reports/cosqa.json
    python -m evals.cosqa --limit 50 --model base --work /tmp/sgmcp-cosqa

The data is read in place from ``$SGMCP_COSQA_DIR`` (default ``/work/shared/benchmarks/cosqa``) and
never copied into the repository. Only the dev split is used here.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import warnings
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

os.environ.setdefault("LANCEDB_LOG", "error")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
warnings.filterwarnings("ignore", message="lancedb fork support is experimental")

from evals.common import (aggregate, first_appearance, git_head, index_with_progress, latency_summary,  # noqa: E402
                          machine, metrics, write_reports)

DATA_DIR = Path(os.environ.get("SGMCP_COSQA_DIR", "/work/shared/benchmarks/cosqa"))
CODE_MAP = "coclr-code_idx_map.txt"
DEV_QUERIES = "coclr-cosqa-retrieval-dev-500.json"
DEFAULT_WORK = Path(os.environ.get("TMPDIR", "/tmp")) / "sgmcp-cosqa"
K = 100
MODES = ("dense", "bm25", "lexical", "hybrid")
# Published zero-shot MRR on the CoSQA *test* split (not comparable one-to-one with dev).
PUBLISHED_TEST_MRR = {"UniXcoder (zero-shot)": 0.431, "CodeT5+ 110M embedding (zero-shot)": 0.396}


# ---- data --------------------------------------------------------------------------------------
def load_corpus(data_dir: Path = DATA_DIR) -> dict[int, str]:
    """id -> function source."""
    with open(data_dir / CODE_MAP, encoding="utf-8") as fh:
        code_to_id: dict[str, int] = json.load(fh)
    corpus = {int(i): code for code, i in code_to_id.items()}
    if len(corpus) != len(code_to_id):
        raise ValueError("duplicate ids in the CoSQA code map")
    return corpus


def load_queries(data_dir: Path = DATA_DIR, limit: int | None = None) -> list[dict[str, Any]]:
    with open(data_dir / DEV_QUERIES, encoding="utf-8") as fh:
        rows = json.load(fh)
    queries = [{"i": n, "idx": r["idx"], "query": r["doc"], "gold": corpus_file(int(r["retrieval_idx"]))}
               for n, r in enumerate(rows)]
    return queries[:limit] if limit is not None else queries


def corpus_file(i: int) -> str:
    return f"f{i}.py"


def write_corpus(corpus: dict[int, str], corpus_dir: Path) -> dict[str, int]:
    """One file per function; files already holding the same text are left alone (mtime kept, so the
    incremental indexer skips them)."""
    corpus_dir.mkdir(parents=True, exist_ok=True)
    written = same = 0
    wanted = set()
    for i, code in corpus.items():
        name = corpus_file(i)
        wanted.add(name)
        data = (code if code.endswith("\n") else code + "\n").encode("utf-8", "surrogatepass")
        path = corpus_dir / name
        try:
            if path.read_bytes() == data:
                same += 1
                continue
        except OSError:
            pass
        path.write_bytes(data)
        written += 1
    removed = 0
    for path in corpus_dir.iterdir():
        if path.name not in wanted and path.is_file():
            path.unlink()
            removed += 1
    return {"files": len(corpus), "written": written, "unchanged": same, "removed": removed}


# ---- index + engine ----------------------------------------------------------------------------
def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]+", "_", name)


def prepare(work: Path, model: str | None, *, data_dir: Path = DATA_DIR, quiet: bool = False) -> tuple[Any, dict[str, Any]]:
    """Write the corpus, bring its index up to date for ``model``, and open an Engine on it."""
    from indexer.encoder import load_encoder
    from sgmcp.engine import Engine

    log = (lambda *a: None) if quiet else (lambda *a: print(*a, file=sys.stderr, flush=True))
    corpus_dir = work / "corpus"
    corpus_stats = write_corpus(load_corpus(data_dir), corpus_dir)
    log(f"corpus: {corpus_stats} in {corpus_dir}")
    encoder = load_encoder(model)
    index_dir = work / "index" / _slug(encoder.name)
    summary, info = index_with_progress(corpus_dir, index_dir, encoder, log)
    info["encoder"] = encoder.name
    info["corpus"] = corpus_stats
    log(f"index: {summary.files} files, {summary.chunks} chunks, parsed {summary.parsed}, "
        f"embedded {summary.embedded}, skipped {summary.skipped} in {summary.seconds:.1f}s ({index_dir})")
    for note in summary.notes:
        log(f"  note: {note}")
    engine = Engine(corpus_dir, str(index_dir), model=model)
    return engine, info


def query_lists(engine: Any, query: str, k: int = K) -> dict[str, list[dict[str, Any]]]:
    """The ranked lists ``Engine.semantic_candidates`` fuses for ``query`` (same order, same limit)."""
    every_source = {"bm25": 1.0, "symbol": 1.0, "name": 1.0, "path": 1.0, "dense": 1.0}
    return engine.retrieval_lists(query, max(50, k * 5), every_source)


def fused(lists: dict[str, Sequence[dict[str, Any]]], weights: dict[str, float], query: str, k: int = K) -> list[Any]:
    """``Engine.semantic_candidates`` after the lists are fetched: weighted RRF, code rules, overlap drop.
    A list whose weight is 0 is left out entirely (not kept as a zero-score tail)."""
    from sgmcp.ranking import apply_code_rules, drop_overlaps, fuse

    used = {name: rows for name, rows in lists.items() if weights.get(name, 1.0) != 0}
    return drop_overlaps(apply_code_rules(fuse(used, weights), query), k)


def ranked_files(items: Sequence[Any]) -> list[str]:
    """Chunk results (Candidate or Result) -> files by first appearance."""
    return first_appearance((c.row["path"] if hasattr(c, "row") else c.path) for c in items)


# ---- run ---------------------------------------------------------------------------------------
def evaluate(engine: Any, queries: list[dict[str, Any]], *, k: int = K, quiet: bool = False) -> dict[str, Any]:
    log = (lambda *a: None) if quiet else (lambda *a: print(*a, file=sys.stderr, flush=True))
    engine.semantic_search("warm up the encoder and the index", k)  # model load, FTS/graph open
    per_mode: dict[str, list[dict[str, float]]] = {m: [] for m in MODES}
    lat_k, lat_10 = [], []
    rows = []
    mirror_mismatch = 0
    top_kinds: dict[str, int] = {}
    started = time.perf_counter()
    for n, q in enumerate(queries, 1):
        text, gold = q["query"], {q["gold"]}
        t0 = time.perf_counter()
        hybrid = engine.semantic_search(text, k)
        lat_k.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        engine.semantic_search(text, 10)
        lat_10.append(time.perf_counter() - t0)

        lists = query_lists(engine, text, k)
        mirrored = fused(lists, engine.weights, text, k)
        if [(c.row["path"], c.row["start_line"]) for c in mirrored] != [(r.path, r.start_line) for r in hybrid]:
            mirror_mismatch += 1
        files = {
            "dense": ranked_files(fused({"dense": lists.get("dense", [])}, {"dense": 1.0}, text, k)),
            "bm25": ranked_files(fused({"bm25": lists["bm25"]}, {"bm25": 1.0}, text, k)),
            "lexical": ranked_files(engine.lexical_search(text, k)),
            "hybrid": ranked_files(hybrid),
        }
        row = {"i": q["i"], "idx": q["idx"], "query": text, "gold": q["gold"],
               "lists": {name: len(v) for name, v in lists.items()}}
        for mode, ranked in files.items():
            m = metrics(ranked, gold, k)
            per_mode[mode].append(m)
            row[mode] = (ranked.index(q["gold"]) + 1) if q["gold"] in ranked[:k] else None
        row["hybrid_top"] = files["hybrid"][:3]
        if hybrid:
            top_kinds[hybrid[0].kind] = top_kinds.get(hybrid[0].kind, 0) + 1
        rows.append(row)
        if n % 50 == 0 or n == len(queries):
            mrr = aggregate(per_mode["hybrid"])["mrr"]
            log(f"  {n}/{len(queries)} queries, hybrid MRR so far {mrr:.4f} ({time.perf_counter() - started:.0f}s)")
    results = {mode: aggregate(v) for mode, v in per_mode.items()}
    h, d = [r["hybrid"] or 10**6 for r in rows], [r["dense"] or 10**6 for r in rows]
    return {
        "k": k, "queries": len(queries), "metrics": results,
        "latency": {"hybrid_k100": latency_summary(lat_k), "hybrid_k10": latency_summary(lat_10)},
        "hybrid_vs_dense": {"better": sum(a < b for a, b in zip(h, d)), "worse": sum(a > b for a, b in zip(h, d)),
                            "same": sum(a == b for a, b in zip(h, d))},
        "hybrid_top1_kinds": top_kinds,
        "mirror_mismatches": mirror_mismatch,
        "per_query": rows,
    }


def table(results: dict[str, dict[str, float]]) -> str:
    lines = ["| mode | MRR | Acc@1 | R@10 | NDCG@10 | R@100 |", "|---|---|---|---|---|---|"]
    for mode, m in results.items():
        lines.append(f"| {mode} | {m['mrr']:.4f} | {m['p@1']:.4f} | {m['r@10']:.4f} | {m['ndcg@10']:.4f} | "
                     f"{m['r@100']:.4f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.cosqa", description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=int, default=None, help="first N dev queries only")
    ap.add_argument("--model", default=None, help="encoder: base | default | PATH (default: $SGMCP_MODEL or default)")
    ap.add_argument("--work", type=Path, default=DEFAULT_WORK, help=f"work directory (default {DEFAULT_WORK})")
    ap.add_argument("--weights", default=None,
                    help='JSON merged onto HYBRID_WEIGHTS for the hybrid mode, e.g. \'{"bm25": 0.2}\'')
    ap.add_argument("--json", dest="json_out", type=Path, default=None, help="write the full report here")
    ap.add_argument("--index-only", action="store_true", help="build/refresh the index and stop")
    args = ap.parse_args(argv)

    from sgmcp.engine import HYBRID_WEIGHTS

    when = datetime.now(timezone.utc).isoformat(timespec="seconds")
    box, head = machine(), git_head()
    engine, index_info = prepare(args.work, args.model)
    if args.index_only:
        return 0
    if args.weights:
        engine.weights = {**HYBRID_WEIGHTS, **json.loads(args.weights)}
    queries = load_queries(limit=args.limit)
    print(f"evaluating {len(queries)} dev queries, weights {engine.weights}", file=sys.stderr, flush=True)
    report = evaluate(engine, queries)
    report = {"benchmark": "CoSQA retrieval, dev split (500 queries, 6,267 functions)", "date": when,
              "command": "python -m evals.cosqa " + " ".join(argv if argv is not None else sys.argv[1:]),
              "git_head": head, "model": args.model or os.environ.get("SGMCP_MODEL") or "default",
              "encoder": index_info["encoder"], "weights": engine.weights, "machine": box, "index": index_info,
              "load_avg_at_end": machine()["load_avg_at_start"], "published_test_mrr": PUBLISHED_TEST_MRR, **report}
    print(table(report["metrics"]))
    lat = report["latency"]
    print(f"hybrid latency k=100: p50 {lat['hybrid_k100']['p50_ms']} ms, p99 {lat['hybrid_k100']['p99_ms']} ms; "
          f"k=10: p50 {lat['hybrid_k10']['p50_ms']} ms, p99 {lat['hybrid_k10']['p99_ms']} ms")
    if report["mirror_mismatches"]:
        print(f"warning: the mirrored fusion differed from semantic_search on {report['mirror_mismatches']} queries",
              file=sys.stderr)
    if args.json_out:
        write_reports(report, args.json_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
