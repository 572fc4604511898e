"""Run a query suite through the real MCP client against ``sgmcp serve --repo PATH`` (a subprocess).

    sgmcp eval suite evals/suites/rxjs.jsonl --repo evals/data/corpora/rxjs-7.8.1 --json out.json
    sgmcp eval suite evals/suites/*.jsonl --reports evals/reports/suite    # each suite on its own corpus

Suite format, one JSON object a line::

    {"id", "intent": "definition"|"usages"|"semantic"|"multi_hop"|"context"|"change", "query",
     "symbol" (definition/usages), "gold": [{"path", "symbol", "line", "container"?}],
     "context": null | {"current_file", "recent_files"}, "hard"?: true}

Each intent goes to its own tool: definition -> find_definition(symbol), usages -> find_usages(symbol),
semantic -> semantic_search, multi_hop -> multi_hop_search, context and change -> search with the context
arguments. A result hits a gold entry when it has the same path and either the same symbol or it starts
at most 5 lines before the gold line and spans it. For usages, each gold function found anywhere in the
results counts (recall), and precision is the share of results that are gold functions; a reference at
module level is a gold entry ``{"path", "symbol": "(module)", "line": <the reference's line>}``, hit by a
result whose ``line`` (or span) holds it.

Metrics, per intent and overall: P@1, MRR, R@5, NDCG@10 (binary relevance, duplicates of a gold entry
count once), usages recall/precision, multi-hop success (every gold entry in the top 10), context gain
(P@1 of a query with its context minus P@1 of the same query without it: each query with a context is
asked twice), and client-side (wall time around ``call_tool``) and server-side (``took_ms``) latency.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .check_gold import MODULE, load_suite, norm_symbol
from .common import first_appearance, ndcg_at, percentile, recall_at, reciprocal_rank

INTENTS = ("definition", "usages", "semantic", "multi_hop", "context", "change")
TOOL_FOR = {"definition": "find_definition", "usages": "find_usages", "semantic": "semantic_search",
            "multi_hop": "multi_hop_search", "context": "search", "change": "search"}
CONTEXT_TOOLS = {"search", "semantic_search"}
LINE_SLACK = 5
HOP_K = 10


# ---------------------------------------------------------------------------------------------
# Queries and the hit rule


@dataclass
class Query:
    id: str
    intent: str
    tool: str
    arguments: dict[str, Any]
    gold: list[dict[str, Any]]
    query: str = ""
    context: dict[str, Any] | None = None
    hard: bool = False
    corpus: str = ""
    file_level: bool = False  # gold is whole files (replayed Claude Code sessions)


def query_from_suite(rec: dict[str, Any], *, k: int = 10, usages_k: int = 50, corpus: str = "") -> Query:
    intent = rec["intent"]
    if intent not in TOOL_FOR:
        raise ValueError(f"{rec.get('id')}: unknown intent {intent!r}")
    tool = TOOL_FOR[intent]
    if intent in ("definition", "usages"):
        args: dict[str, Any] = {"symbol": rec.get("symbol") or rec["query"], "k": usages_k if intent == "usages" else k}
    else:
        args = {"query": rec["query"], "k": k}
    ctx = rec.get("context") or None
    if ctx and tool in CONTEXT_TOOLS:
        if ctx.get("current_file"):
            args["current_file"] = ctx["current_file"]
        if ctx.get("recent_files"):
            args["recent_files"] = list(ctx["recent_files"])
    return Query(id=rec["id"], intent=intent, tool=tool, arguments=args, gold=list(rec.get("gold") or []),
                 query=rec.get("query", ""), context=ctx, hard=bool(rec.get("hard")), corpus=corpus)


def has_context(args: dict[str, Any]) -> bool:
    return bool(args.get("current_file") or args.get("recent_files"))


def without_context(args: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in args.items() if k not in ("current_file", "recent_files")}


def norm_path(path: str) -> str:
    path = path.replace("\\", "/")
    return path[2:] if path.startswith("./") else path


def hits(result: dict[str, Any], gold: dict[str, Any]) -> bool:
    """Same path, and: the same symbol, or a start at most 5 lines before the gold line with the gold line
    inside the result. Gold without symbol and line (a file) matches on the path alone."""
    if norm_path(result.get("path", "")) != norm_path(gold.get("path", "")):
        return False
    symbol, line = gold.get("symbol"), gold.get("line")
    if not symbol and line is None:
        return True
    if symbol == MODULE and line is not None and result.get("line") == line:
        return True  # a module-level usage, found by its reference line
    if symbol and norm_symbol(result.get("symbol") or "") == norm_symbol(symbol):
        return True
    if line is None:
        return False
    start, end = int(result.get("start_line") or 0), int(result.get("end_line") or 0)
    return line - LINE_SLACK <= start <= line <= end


def ranked_keys(results: Sequence[dict[str, Any]], gold: Sequence[dict[str, Any]]) -> list[Any]:
    """Each result as the index of the first gold entry it hits, else a key of its own; a gold entry hit
    twice counts once (at its best rank)."""
    keys: list[Any] = []
    for i, r in enumerate(results):
        g = next((j for j, g in enumerate(gold) if hits(r, g)), None)
        keys.append(("gold", g) if g is not None else ("miss", i))
    return first_appearance(keys)


def score_query(q: Query, results: Sequence[dict[str, Any]]) -> dict[str, float]:
    """The metrics of one answer."""
    keys = ranked_keys(results, q.gold)
    relevant = {("gold", j) for j in range(len(q.gold))}
    m: dict[str, float] = {
        "p1": 1.0 if keys and keys[0] in relevant else 0.0,
        "rr": reciprocal_rank(keys, relevant),
        "r5": recall_at(keys, relevant, 5),
        "ndcg10": ndcg_at(keys, relevant, 10),
        "found": float(len(relevant.intersection(keys))),
    }
    if q.intent == "usages":
        m["usages_recall"] = len(relevant.intersection(keys)) / len(relevant) if relevant else 0.0
        m["usages_precision"] = (sum(1 for r in results if any(hits(r, g) for g in q.gold)) / len(results)
                                 if results else 0.0)
    if q.intent == "multi_hop":
        m["multi_hop_success"] = 1.0 if relevant <= set(keys[:HOP_K]) else 0.0
    return m


# ---------------------------------------------------------------------------------------------
# Running through the MCP client


@dataclass
class Answer:
    results: list[dict[str, Any]] = field(default_factory=list)
    client_ms: float = 0.0
    server_ms: float | None = None
    error: str = ""
    intent: str = ""  # what the server routed to (search)


def server_params(repo: str | Path, *, index_dir: str | None = None, model: str | None = None):
    from mcp import StdioServerParameters

    args = ["-m", "sgmcp", "serve", "--repo", str(repo), "--no-watch"]
    if index_dir:
        args += ["--index-dir", str(index_dir)]
    if model:
        args += ["--model", model]
    env = {**os.environ, "LANCEDB_LOG": "error", "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1",
           "TOKENIZERS_PARALLELISM": "false"}
    return StdioServerParameters(command=sys.executable, args=args, env=env)


async def _call(session, tool: str, args: dict[str, Any], timeout: float) -> Answer:
    started = time.perf_counter()
    try:
        res = await session.call_tool(tool, args, read_timeout_seconds=timeout)
    except Exception as err:  # a timeout or a broken pipe must cost one query, not the run
        return Answer(client_ms=(time.perf_counter() - started) * 1000, error=f"{type(err).__name__}: {err}")
    client_ms = (time.perf_counter() - started) * 1000
    if getattr(res, "is_error", False):
        text = " ".join(getattr(c, "text", "") for c in (res.content or []))
        return Answer(client_ms=client_ms, error=text.strip() or "tool error")
    body = res.structured_content or {}
    return Answer(results=list(body.get("results") or []), client_ms=client_ms,
                  server_ms=body.get("took_ms"), intent=body.get("intent", ""))


async def run_queries_async(queries: Sequence[Query], repo: str | Path, *, index_dir: str | None = None,
                            model: str | None = None, timeout: float = 120.0, strip_context: bool = False,
                            warmup: bool = True, progress=None) -> tuple[list[Answer], dict[str, Any]]:
    """Ask every query, in order, through one server subprocess (one MCP session, as an agent would);
    returns one answer per query and facts of the session. ``strip_context`` drops the context arguments."""
    from mcp import ClientSession
    from mcp.client.stdio import stdio_client

    facts: dict[str, Any] = {}
    answers: list[Answer] = []
    started = time.perf_counter()
    with open(os.devnull, "w") as devnull:
        async with stdio_client(server_params(repo, index_dir=index_dir, model=model), errlog=devnull) as (r, w):
            async with ClientSession(r, w) as session:
                await session.initialize()
                facts["startup_ms"] = round((time.perf_counter() - started) * 1000, 1)
                facts["index"] = await _ready_index(session, timeout)
                if warmup:  # the first semantic call loads the encoder: timed apart from the queries
                    first = await _call(session, "semantic_search", {"query": "warm up the encoder", "k": 1}, timeout)
                    facts["warmup_ms"] = round(first.client_ms, 1)
                for n, q in enumerate(queries, 1):
                    args = without_context(q.arguments) if strip_context else q.arguments
                    answer = await _call(session, q.tool, args, timeout)
                    answers.append(answer)
                    if progress:
                        progress(n, len(queries), q, answer)
    facts["wall_s"] = round(time.perf_counter() - started, 2)
    return answers, facts


async def _ready_index(session, timeout: float) -> dict[str, Any]:
    """index_status, waiting while the server still opens the index in the background."""
    deadline = time.perf_counter() + timeout
    while True:
        status = await session.call_tool("index_status", {})
        state = status.structured_content or {}
        if state.get("state") not in ("building",) or time.perf_counter() > deadline:
            return state
        await asyncio.sleep(0.5)


def run_queries(queries: Sequence[Query], repo: str | Path, *, index_dir: str | None = None,
                model: str | None = None, timeout: float = 120.0, context_ablation: bool = True,
                warmup: bool = True, log=None, label: str = "") -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Score every query. The context ablation replays the same sequence in a second server session with
    the context arguments removed, so both runs see the same session history (the server demotes results
    a session has already been shown) and differ only by the context."""

    def progress(n: int, total: int, q: Query, a: Answer) -> None:
        if log:
            found = any(hits(r, g) for r in a.results for g in q.gold)
            mark = "ERR" if a.error else "hit" if found else "miss"
            log(f"  [{label} {n}/{total}] {q.id[:48]:48} {q.intent:10} {mark:4} {a.client_ms:8.1f} ms")

    answers, facts = asyncio.run(run_queries_async(queries, repo, index_dir=index_dir, model=model,
                                                   timeout=timeout, warmup=warmup, progress=progress))
    records = [record(q, a) for q, a in zip(queries, answers)]
    with_ctx = [i for i, q in enumerate(queries) if q.tool in CONTEXT_TOOLS and has_context(q.arguments)]
    if context_ablation and with_ctx:
        if log:
            log(f"  [{label}] context ablation: the same {len(queries)} calls without context arguments")
        plain, facts2 = asyncio.run(run_queries_async(queries, repo, index_dir=index_dir, model=model,
                                                      timeout=timeout, warmup=warmup, strip_context=True))
        facts["ablation_wall_s"] = facts2["wall_s"]
        for i in with_ctx:
            rec, base = records[i], score_query(queries[i], plain[i].results)
            rec["no_context"] = {"p1": base["p1"], "rr": base["rr"], "top": _top(plain[i].results),
                                 "client_ms": round(plain[i].client_ms, 2), "error": plain[i].error}
            rec["context_gain"] = rec["metrics"]["p1"] - base["p1"]
            rec["context_gain_rr"] = rec["metrics"]["rr"] - base["rr"]
    return records, facts


def _top(results: Sequence[dict[str, Any]], n: int = 3) -> list[str]:
    return [f"{r.get('path')}:{r.get('start_line')} {r.get('symbol')}" for r in results[:n]]


def record(q: Query, answer: Answer) -> dict[str, Any]:
    m = score_query(q, answer.results)
    gold_ranks = []
    for g in q.gold:
        rank = next((i for i, r in enumerate(answer.results, 1) if hits(r, g)), None)
        gold_ranks.append(rank)
    return {"id": q.id, "corpus": q.corpus, "intent": q.intent, "hard": q.hard, "tool": q.tool,
            "arguments": q.arguments, "routed": answer.intent, "n_results": len(answer.results),
            "gold": q.gold, "gold_ranks": gold_ranks, "metrics": m, "top": _top(answer.results),
            "client_ms": round(answer.client_ms, 2),
            "server_ms": round(answer.server_ms, 2) if answer.server_ms is not None else None,
            "error": answer.error}


# ---------------------------------------------------------------------------------------------
# Aggregation


def _mean(xs: Iterable[float]) -> float | None:
    xs = list(xs)
    return round(statistics.fmean(xs), 4) if xs else None


def _latency(ms: Sequence[float]) -> dict[str, float | None]:
    ms = [x for x in ms if x is not None]
    if not ms:
        return {"p50_ms": None, "p99_ms": None, "mean_ms": None, "n": 0}
    return {"p50_ms": round(percentile(ms, 50), 2), "p99_ms": round(percentile(ms, 99), 2),
            "mean_ms": round(statistics.fmean(ms), 2), "n": len(ms)}


def summarize(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Mean metrics of a set of answered queries. Ranking metrics (P@1, MRR, R@5, NDCG@10) cover every
    query but usages (whose answers are sets, scored by recall and precision)."""
    ranked = [r for r in records if r["intent"] != "usages"]
    usages = [r for r in records if r["intent"] == "usages"]
    hops = [r for r in records if "multi_hop_success" in r["metrics"]]
    ctx = [r for r in records if "context_gain" in r]
    out: dict[str, Any] = {
        "n": len(records),
        "p1": _mean(r["metrics"]["p1"] for r in ranked),
        "mrr": _mean(r["metrics"]["rr"] for r in ranked),
        "r5": _mean(r["metrics"]["r5"] for r in ranked),
        "ndcg10": _mean(r["metrics"]["ndcg10"] for r in ranked),
        "usages_recall": _mean(r["metrics"]["usages_recall"] for r in usages),
        "usages_precision": _mean(r["metrics"]["usages_precision"] for r in usages),
        "multi_hop_success": _mean(r["metrics"]["multi_hop_success"] for r in hops),
        "context_gain": _mean(r["context_gain"] for r in ctx),
        "context_gain_mrr": _mean(r["context_gain_rr"] for r in ctx),
        "p1_without_context": _mean(r["no_context"]["p1"] for r in ctx),
        "errors": sum(1 for r in records if r.get("error")),
        "latency": {"client": _latency([r["client_ms"] for r in records]),
                    "server": _latency([r["server_ms"] for r in records])},
    }
    hard = [r for r in ranked if r.get("hard")]
    if hard:
        out["hard_p1"] = _mean(r["metrics"]["p1"] for r in hard)
        out["hard_mrr"] = _mean(r["metrics"]["rr"] for r in hard)
        out["n_hard"] = len(hard)
    return out


def build_report(records: Sequence[dict[str, Any]], meta: dict[str, Any]) -> dict[str, Any]:
    """The JSON of a run: top-level ``p1`` and ``usages_recall``, then overall, per intent, per corpus and
    per query detail."""
    overall = summarize(records)
    by_intent: dict[str, list] = defaultdict(list)
    by_corpus: dict[str, list] = defaultdict(list)
    for r in records:
        by_intent[r["intent"]].append(r)
        by_corpus[r.get("corpus") or ""].append(r)
    order = [i for i in INTENTS if i in by_intent] + sorted(set(by_intent) - set(INTENTS))
    return {
        "kind": meta.get("kind", "suite"),
        "p1": overall["p1"],
        "usages_recall": overall["usages_recall"],
        "overall": overall,
        "intents": {i: summarize(by_intent[i]) for i in order},
        "corpora": ({c: {"overall": summarize(rs),
                         "intents": {i: summarize([r for r in rs if r["intent"] == i])
                                     for i in order if any(r["intent"] == i for r in rs)}}
                     for c, rs in sorted(by_corpus.items())} if len(by_corpus) > 1 else {}),
        "meta": meta,
        "queries": list(records),
    }


# ---------------------------------------------------------------------------------------------
# Index, suite files, entry point


def ensure_index(repo: str | Path, *, index_dir: str | None = None, model: str | None = None,
                 vectors: bool = True, log=print) -> dict[str, Any]:
    """Bring the repository's index up to date (incremental: an index that is current costs a quick
    re-scan). Without vectors an existing index is used as it is, so a vector index is never downgraded."""
    from indexer.pipeline import index_repository
    from indexer.store import default_index_dir

    where = Path(index_dir or default_index_dir(repo))
    started = time.perf_counter()
    if not vectors:
        if where.exists():
            from indexer.store import IndexStore

            commit = IndexStore(str(where)).last_commit()
            if commit is not None:
                return {"index_dir": str(where), "reused": True, "encoder": commit.encoder, "seconds": 0.0}
        s = index_repository(repo, index_dir)
    else:
        from indexer.encoder import load_encoder

        log(f"indexing {repo} (encoder {model or 'default'}) ...")
        s = index_repository(repo, index_dir, encoder=load_encoder(model))
    return {"index_dir": s.index_dir, "files": s.files, "parsed": s.parsed, "lines": s.lines, "chunks": s.chunks,
            "embedded": s.embedded, "seconds": round(time.perf_counter() - started, 2), "reused": s.parsed == 0}


def default_repo(suite_path: str | Path) -> Path:
    from .corpora import corpus_for, fetch

    corpus = corpus_for(suite_path)
    if corpus is None:
        raise SystemExit(f"no corpus for {suite_path} (name it CORPUS.jsonl or PREFIX-CORPUS.jsonl): pass --repo PATH")
    return fetch(corpus.name)


def run_suite(path: str | Path, repo: str | Path | None = None, *, index_dir: str | None = None,
              model: str | None = None, vectors: bool = True, index: bool = True, k: int = 10,
              usages_k: int = 50, intents: Sequence[str] | None = None, limit: int | None = None,
              timeout: float = 120.0, context_ablation: bool = True, quiet: bool = False
              ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Records and facts of one suite file on one repository."""
    log = (lambda *a: None) if quiet else (lambda *a: print(*a, file=sys.stderr, flush=True))
    repo = Path(repo) if repo else default_repo(path)
    corpus = Path(path).stem
    recs = load_suite(path)
    if intents:
        recs = [r for r in recs if r["intent"] in intents]
    if limit:
        recs = recs[:limit]
    queries = [query_from_suite(r, k=k, usages_k=usages_k, corpus=corpus) for r in recs]
    facts: dict[str, Any] = {"suite": str(path), "repo": str(repo), "queries": len(queries)}
    if index:
        facts["indexing"] = ensure_index(repo, index_dir=index_dir, model=model, vectors=vectors, log=log)

    records, session = run_queries(queries, repo, index_dir=index_dir, model=model, timeout=timeout,
                                   context_ablation=context_ablation, warmup=vectors, log=log, label=corpus)
    facts.update(session)
    return records, facts


def run_suites(paths: Sequence[str | Path], repo: str | Path | None = None, **kw) -> dict[str, Any]:
    """Run one or more suites (each on ``repo`` or on its own corpus) and build the combined report."""
    from .common import machine

    if (repo is not None or kw.get("index_dir")) and len(paths) > 1:
        raise SystemExit("--repo/--index-dir apply to one suite; without them each suite runs on its own corpus")
    all_records: list[dict[str, Any]] = []
    runs = {}
    for p in paths:
        records, facts = run_suite(p, repo, **kw)
        all_records.extend(records)
        runs[Path(p).stem] = facts
    meta = {"kind": "suite", "suites": runs, "model": kw.get("model") or os.environ.get("SGMCP_MODEL") or "default",
            "vectors": kw.get("vectors", True), "k": kw.get("k", 10), "usages_k": kw.get("usages_k", 50),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S"), "machine": machine()}
    return build_report(all_records, meta)


def dump_json(report: dict[str, Any], path: str | Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1, default=lambda o: asdict(o) if hasattr(o, "__dataclass_fields__") else str(o))
        f.write("\n")
