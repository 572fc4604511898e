"""In-process runner for the multi-hop suites (``evals/suites/multihop-*.jsonl``): success@1 per corpus,
graph-work and whole-call latency, and the per-query ranks, for ``evals/reports/multihop.md``.

    python -m evals.multihop_eval --index-root evals/data/mh --prefix ad- [--baseline]
        [--heldout [heldout|heldout2|fresh|fresh2|...|fresh29]] [--json FILE] [--misses] [--check-chains]

Each corpus is opened once as ``Engine(evals/data/corpora/NAME-VERSION, INDEX_ROOT/PREFIX+NAME-VERSION)``
(built beforehand with ``sgmcp index ... --index-dir``; the runner never builds an index). Every question is
asked through ``sgmcp.multihop.multi_hop_search(engine, q, 10, 3)`` (LLM sub-queries off) and scored with
``evals.suite.hits``: success@1 is a gold location at rank 1 (the suite runner's P@1 for ``multi_hop``),
also split by the confidence the answer states (``by_confidence``: high, medium, low).
``--baseline`` also asks ``engine.semantic_search(q, 10)``. ``--misses`` prints, for each miss, the top three
and the trail. ``--heldout NAME`` runs ``multihop-NAME-*.jsonl`` over whichever corpora those files name
(``fresh``: attrs, BurntSushi/toml, toml-rs; ``fresh2``: Jinja2, postcss, go-jmespath; ``fresh3``: click, commander,
mapstructure; ``fresh4``: jsonschema, ajv, spf13/pflag; ``fresh5``: tomlkit, handlebars, go-cmp; ``fresh6``: sqlparse,
marked, serde_json; ``fresh7``: python-dateutil, mobx, gorilla/websocket; ``fresh8``: parsimonious, semver,
gobwas/glob; ``fresh9``: PyYAML, luxon, hashicorp/hcl; ``fresh10``: packaging, js-yaml, similar;
``fresh11``: mistune, @msgpack/msgpack, go-toml; ``fresh12``: lark, markdown-it, gjson;
``fresh13``: Python-Markdown, yaml, textwrap; ``fresh14``: Cerberus, fast-xml-parser, robfig/cron;
``fresh15``: voluptuous, ejs, ron; ``fresh16``: tinycss2, mustache, Masterminds/semver;
``fresh17``: cssselect, htmlparser2, glob; ``fresh18``: pathspec, yargs-parser, hashicorp/go-version;
``fresh19``: Mako, diff (jsdiff), quick-xml; ``fresh20``: configobj, path-to-regexp, semver-parser;
``fresh21``: docopt, qs, valyala/fastjson; ``fresh22``: jmespath, nunjucks, gobwas/httphead;
``fresh23``: tomli, json5, roxmltree; ``fresh24``: schema, nearley, blang/semver;
``fresh25``: tabulate, csv-parse, unicode-bidi; ``fresh26``: isodate, cron-parser, uniseg;
``fresh27``: inflect, fast-json-patch, pest; ``fresh28``: bleach, jsonc-parser, dustin/go-humanize;
``fresh29``: mistletoe, picomatch, base64).
``--check-chains``
asks no question: it checks that every link of each record's ``chain`` (``qualname@file-suffix``) is an edge the
walker follows (a callee, member, caller or reference of ``sgmcp.multihop._Walk``) and exits 1 listing the links
that are not. ``--impl FILE --interleave dev,fresh2`` asks every question of those sets twice with both versions
in turn and prints their graph times.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from evals.corpora import CORPORA_DIR, SUITES_DIR, corpus_for
from evals.suite import hits

MAIN = ("marshmallow", "rxjs", "itertools", "gorilla-mux")


def _rank(results: list[dict[str, Any]], gold: list[dict[str, Any]]) -> int | None:
    for i, r in enumerate(results):
        if any(hits(r, g) for g in gold):
            return i + 1
    return None


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))], 1) if xs else 0.0


def _suites(heldout: str) -> list[Path]:
    if not heldout:
        return [SUITES_DIR / f"multihop-{name}.jsonl" for name in MAIN]
    return sorted(SUITES_DIR.glob(f"multihop-{heldout}-*.jsonl"))  # `fresh-` never matches `fresh2-`


def _corpus_name(suite: Path, heldout: str) -> str:
    return suite.stem[len(f"multihop-{heldout}-"):] if heldout else suite.stem[len("multihop-"):]


def check_chains(index_root: Path, prefix: str, heldout: str, model: str | None = None) -> list[str]:
    """Links of the records' ``chain`` fields that are not walker edges (empty: every link is one)."""
    import time as _time

    from sgmcp.engine import Engine
    from sgmcp.multihop import _Walk, decompose

    problems: list[str] = []
    for suite in _suites(heldout):
        if not suite.exists():
            continue
        corpus = corpus_for(suite)
        assert corpus is not None, suite
        engine = Engine(corpus.path(CORPORA_DIR), str(index_root / f"{prefix}{corpus.dirname}"), model=model)
        walk = _Walk(engine, "x: y", decompose("x: y"), _time.perf_counter() + 1e9)
        symbols = list(engine.graph.symbols.values())

        def defs(link: str) -> list[Any]:
            name, _, where = link.partition("@")
            return [s for s in symbols if s.qualname == name and (not where or s.path.endswith(where))]

        for line in suite.read_text().splitlines():
            rec = json.loads(line) if line.strip() else None
            chain = (rec or {}).get("chain") or []
            for a, b in zip(chain, chain[1:]):
                sources, targets = defs(a), {s.id for s in defs(b)}
                if not sources or not targets:
                    problems.append(f"{rec['id']}: {a if not sources else b} not found")
                    continue
                edges = {t.id for s in sources
                         for t in walk.callees(s) + walk.members(s) + walk.callers(s) + walk.refs(s)}
                if not edges & targets:
                    problems.append(f"{rec['id']}: {a} -> {b} is not a walker edge")
    return problems


def run(index_root: Path, prefix: str, heldout: str, baseline: bool, misses: bool,
        model: str | None = None, only: str | None = None, impl: str | None = None) -> dict[str, Any]:
    from sgmcp.engine import Engine
    from sgmcp.multihop import multi_hop_search

    if impl:  # another version of sgmcp/multihop.py (e.g. `git show REV:sgmcp/multihop.py`, imports absolute)
        multi_hop_search = _load_impl(impl)  # noqa: F811

    records: list[dict[str, Any]] = []
    for suite in _suites(heldout):
        name = _corpus_name(suite, heldout)
        if (only and name != only) or not suite.exists():
            continue
        corpus = corpus_for(suite)
        assert corpus is not None, suite
        root = corpus.path(CORPORA_DIR)
        engine = Engine(root, str(index_root / f"{prefix}{corpus.dirname}"), model=model)
        engine.semantic_search("warm up", 3)  # load the encoder and the tables once, outside the timings
        for line in suite.read_text().splitlines():
            if not line.strip():
                continue
            rec = json.loads(line)
            t0 = time.perf_counter()
            out = multi_hop_search(engine, rec["query"], 10, 3, llm=False)
            call_ms = (time.perf_counter() - t0) * 1000
            results = [r.model_dump() for r in out.results]
            rank = _rank(results, rec["gold"])
            row: dict[str, Any] = {"id": rec["id"], "corpus": name, "rank": rank, "graph_ms": round(out.graph_ms, 1),
                                   "call_ms": round(call_ms, 1), "stopped": out.stopped,
                                   "confidence": out.confidence, "probability": out.probability,
                                   "top3": [r.get("symbol") for r in results[:3]]}
            if baseline:
                t0 = time.perf_counter()
                base = [r.model_dump()
                        for r in engine.semantic_search(rec["query"], 10)]
                row["semantic_rank"] = _rank(base, rec["gold"])
                row["semantic_ms"] = round((time.perf_counter() - t0) * 1000, 1)
            records.append(row)
            if misses and rank != 1:
                gold = ", ".join(g.get("symbol") or g["path"] for g in rec["gold"])
                print(f"MISS {rec['id']} rank={rank} gold={gold}\n  q: {rec['query']}\n  top: {row['top3']}")
                for s in out.steps:
                    print("   ", s)
    return summarize(records)


def interleave(index_root: Path, prefix: str, sets: list[str], impl: str, reps: int = 2,
               model: str | None = None) -> dict[str, Any]:
    """Graph time of ``sgmcp.multihop`` against ``impl`` on the same questions, asked in turn (the order
    alternating between repetitions), so that both see the same machine load."""
    from sgmcp.engine import Engine
    from sgmcp.multihop import multi_hop_search

    versions = {"current": multi_hop_search, "impl": _load_impl(impl)}
    times: dict[str, list[float]] = {k: [] for k in versions}
    for heldout in sets:
        for suite in _suites("" if heldout == "dev" else heldout):
            corpus = corpus_for(suite)
            assert corpus is not None, suite
            engine = Engine(corpus.path(CORPORA_DIR), str(index_root / f"{prefix}{corpus.dirname}"), model=model)
            engine.semantic_search("warm up", 3)
            for line in filter(str.strip, suite.read_text().splitlines()):
                query = json.loads(line)["query"]
                for r in range(reps):
                    order = list(versions.items())
                    for name, search in order if r % 2 == 0 else order[::-1]:
                        times[name].append(search(engine, query, 10, 3, llm=False).graph_ms)
    return {name: {"n": len(xs), "p50": _pct(xs, 0.5), "p95": _pct(xs, 0.95), "max": round(max(xs), 1)}
            for name, xs in times.items()} | {"load_average": os.getloadavg()}


def _load_impl(impl: str) -> Any:
    """``multi_hop_search`` of another version of sgmcp/multihop.py (imports made absolute)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("multihop_under_test", impl)
    assert spec is not None and spec.loader is not None, impl
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.multi_hop_search


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    per: dict[str, Any] = {}
    for name in dict.fromkeys(r["corpus"] for r in records):
        rs = [r for r in records if r["corpus"] == name]
        if rs:
            per[name] = {"n": len(rs), "success_at_1": round(sum(r["rank"] == 1 for r in rs) / len(rs), 3)}
    n = len(records)
    graph = [r["graph_ms"] for r in records]
    call = [r["call_ms"] for r in records]
    out: dict[str, Any] = {
        "n": n,
        "success_at_1": round(sum(r["rank"] == 1 for r in records) / n, 3) if n else None,
        "hits_at_1": sum(r["rank"] == 1 for r in records),
        "recall_at_10": round(sum(r["rank"] is not None for r in records) / n, 3) if n else None,
        "mrr": round(sum(1 / r["rank"] for r in records if r["rank"]) / n, 3) if n else None,
        "per_corpus": per,
        "graph_ms": {"p50": _pct(graph, 0.5), "p95": _pct(graph, 0.95), "max": max(graph, default=0.0)},
        "call_ms": {"p50": _pct(call, 0.5), "p95": _pct(call, 0.95), "max": max(call, default=0.0)},
        "stopped": {s: sum(r["stopped"] == s for r in records) for s in {r["stopped"] for r in records}},
        # how often the first result is right at each confidence the answer tells the agent
        "by_confidence": {c: {"n": len(rs), "success_at_1": round(sum(r["rank"] == 1 for r in rs) / len(rs), 3),
                              "gold_in_top_2": round(sum(r["rank"] in (1, 2) for r in rs) / len(rs), 3)}
                          for c in ("high", "medium", "low", "")
                          if (rs := [r for r in records if r["confidence"] == c])},
        "misses": [r["id"] for r in records if r["rank"] != 1],
        "queries": records,
    }
    if records and "semantic_rank" in records[0]:
        out["semantic_success_at_1"] = round(sum(r["semantic_rank"] == 1 for r in records) / n, 3)
        out["semantic_ms_p50"] = statistics.median(r["semantic_ms"] for r in records)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index-root", default="evals/data/mh")
    ap.add_argument("--prefix", default="ad-", help="index folder prefix (INDEX_ROOT/PREFIX<corpus>-<version>)")
    ap.add_argument("--model", default=None, help="encoder the index was built with (default: the shipped one)")
    ap.add_argument("--heldout", nargs="?", const="heldout", default="",
                    help="a held-out set instead: multihop-heldout-*.jsonl, or --heldout heldout2 / fresh / fresh2"
                    " ... fresh29")
    ap.add_argument("--check-chains", action="store_true", help="check the chains' links are walker edges, ask nothing")
    ap.add_argument("--baseline", action="store_true", help="also semantic_search")
    ap.add_argument("--misses", action="store_true", help="print each miss with its trail")
    ap.add_argument("--only", default=None, help="one corpus")
    ap.add_argument("--impl", default=None, help="a file to take multi_hop_search from instead of sgmcp.multihop")
    ap.add_argument("--json", default=None, help="write the summary here")
    ap.add_argument("--interleave", default=None, metavar="SETS",
                    help="with --impl: graph time of both versions asked in turn, on e.g. dev,heldout,fresh2")
    args = ap.parse_args(argv)
    os.environ.setdefault("SGMCP_MULTIHOP_LLM", "0")
    if args.interleave:
        assert args.impl, "--interleave needs --impl"
        print(json.dumps(interleave(Path(args.index_root), args.prefix, args.interleave.split(","), args.impl,
                                    model=args.model)))
        return 0
    if args.check_chains:
        problems = check_chains(Path(args.index_root), args.prefix, args.heldout, args.model)
        print("\n".join(problems) or "every chain link is a walker edge")
        return 1 if problems else 0
    summary = run(Path(args.index_root), args.prefix, args.heldout, args.baseline, args.misses, args.model, args.only, args.impl)
    brief = {k: v for k, v in summary.items() if k != "queries"}
    print(json.dumps(brief, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
