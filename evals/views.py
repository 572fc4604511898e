"""Structure and symbol views of a chunk beside its text vector, fused with weights learned on development data.

Issue 3's "structure signals": besides the text vector every chunk already has (``embedding_text``: path,
name, signature, doc, code), embed two more short texts per chunk with the **same encoder**:

* ``struct``: what the chunk is, from the chunk row's columns: kind, container and name, parameters (or the
  signature), return type, called names and used imports (:func:`struct_text`);
* ``sym``: the same identifiers split into lower-case words, each once (:func:`symbol_text`; e.g.
  ``authenticate_user`` -> ``authenticate user``).

Two ways to fuse them with the text view are measured, each alone (``dense``: the dense list only) and inside
the product's hybrid fusion (``hybrid``: the dense list next to BM25, symbol and path lists with
``HYBRID_WEIGHTS``, through ``sgmcp.ranking.fuse`` + ``apply_code_rules`` + ``drop_overlaps``, as
``Engine.semantic_candidates`` does):

* ``score``: one dense list ranked by ``cos(q,text) + w_struct*cos(q,struct) + w_sym*cos(q,sym)``;
* ``rrf``: three dense lists (text as ``dense``, ``struct``, ``sym``), each ranked by its own cosine, as
  extra weighted-RRF sources (``dense`` 1.0, ``struct`` w_struct, ``sym`` w_sym).

Sets: the CodeSearchNet-protocol sets of ``evals/csn.py`` (one per language, its corpus, layout and index,
built by its own functions) and CoSQA dev (``evals/cosqa.py``, read in place). Each set's queries are split by
their position: even -> ``tune``, odd -> ``check`` (for CoSQA the halves of ``evals/tune_fusion.py``). The
weights (grid ``GRID`` for both, ``w_text`` fixed at 1) are chosen on the tune halves only, by the mean of
the CSN macro MRR and the CoSQA MRR of the hybrid ranking (ties: the smaller total weight); the check halves
then give MRR / P@1 per set and a paired bootstrap 95% CI of the difference against the text view alone (CSN
macro: resampled within each language, then averaged). The best setting of each family (struct only, sym
only, both; per mode) is reported the same way. Query vectors are computed one query at a time with
``encoder.embed_queries`` exactly as the engine does; chunk and view vectors are exact float32 cosines.

    SGMCP_CODE_PRECISION=bf16 SGMCP_QUERY_PRECISION=int8 SGMCP_TRAIN_DATA=/tmp/views/train \\
        python -m evals.views --model default --work /tmp/views --json /tmp/views/views-default.json
    (the same with --model base), then
    python -m evals.views --merge /tmp/views/views-default.json /tmp/views/views-base.json \\
        --json evals/reports/views.json --md evals/reports/views.md

``SGMCP_TRAIN_DATA`` is where ``python -m trainer mine`` put the held-out test split and the unpacked test
packages (default ``evals/data/trainer``); nothing here reads the training split or a reserved project.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from evals.common import aggregate, git_head, machine, metrics, paired_bootstrap, write_reports
from evals.cosqa import K, _slug  # (importing cosqa also sets the offline/lancedb environment)

VIEWS = ("text", "struct", "sym")
MODES = ("score", "rrf")
GRID = (0.0, 0.1, 0.25, 0.5, 1.0)
LIMIT = max(50, K * 5)  # the list length Engine.semantic_candidates asks for at k = K
STRUCT_CHARS = 600
SYMBOL_WORDS = 64
MAX_CALLS, MAX_IMPORTS = 20, 10
# The only columns fuse / apply_code_rules / drop_overlaps read.
_KEEP = ("id", "path", "kind", "start_line", "end_line")
_ROW_COLUMNS = ("id", "path", "kind", "start_line", "end_line", "name", "qualname", "container", "signature",
                "parameters", "return_type", "calls", "imports", "vector")
DEFAULT_WORK = Path(os.environ.get("TMPDIR", "/tmp")) / "sgmcp-views"


# ---- view texts --------------------------------------------------------------------------------
def _unique(items: Sequence[str] | None, limit: int) -> list[str]:
    out: list[str] = []
    for item in items or ():
        if item and item not in out:
            out.append(item)
            if len(out) >= limit:
                break
    return out


def struct_text(row: dict[str, Any]) -> str:
    """The structure view: kind, container and name, parameters (else the signature), return type, calls,
    imports, one per line; empty parts left out."""
    name = row.get("name") or row.get("qualname") or ""
    head = " ".join(x for x in (row.get("kind") or "", name) if x)
    if row.get("container"):
        head += f" of {row['container']}"
    params = (row.get("parameters") or "").strip() or (row.get("signature") or "").strip()
    parts = [head, f"parameters: {params}" if params else "",
             f"returns: {row['return_type'].strip()}" if (row.get("return_type") or "").strip() else "",
             "calls: " + ", ".join(_unique(row.get("calls"), MAX_CALLS)) if row.get("calls") else "",
             "imports: " + ", ".join(_unique(row.get("imports"), MAX_IMPORTS)) if row.get("imports") else ""]
    return "\n".join(p for p in parts if p)[:STRUCT_CHARS]


def symbol_text(row: dict[str, Any]) -> str:
    """The symbol view: the identifiers of name, container, parameters, return type, calls and imports split
    into lower-case words (``parseHTTPResponse_v2`` -> ``parse http response v 2``), each word once, in order."""
    from indexer.identifiers import split_identifier

    sources = [row.get("name") or "", row.get("container") or "",
               (row.get("parameters") or "") or (row.get("signature") or ""), row.get("return_type") or "",
               *_unique(row.get("calls"), MAX_CALLS), *_unique(row.get("imports"), MAX_IMPORTS)]
    words: list[str] = []
    seen: set[str] = set()
    for src in sources:
        for word in split_identifier(src):
            if len(word) > 1 and word not in seen:
                seen.add(word)
                words.append(word)
    return " ".join(words[:SYMBOL_WORDS])


VIEW_TEXT: dict[str, Callable[[dict[str, Any]], str]] = {"struct": struct_text, "sym": symbol_text}


# ---- ranking -----------------------------------------------------------------------------------
def top_offsets(scores: np.ndarray, limit: int) -> list[int]:
    """Offsets of the ``limit`` best scores, best first (ties: the lower offset)."""
    n = len(scores)
    if n == 0:
        return []
    part = np.argpartition(-scores, limit - 1)[:limit] if limit < n else np.arange(n)
    return part[np.lexsort((part, -scores[part]))].tolist()


def dense_offsets(cos: np.ndarray, setting: dict[str, Any], limit: int = LIMIT) -> tuple[dict[str, list[int]], dict[str, float]]:
    """The dense list(s) for one query, as chunk offsets, and their RRF weights. ``cos``: one row per view of
    ``VIEWS`` (cosine of the query with each chunk's view vector); ``setting``: ``{"mode", "struct", "sym"}``
    (``text`` defaults to 1)."""
    w = {v: float(setting.get(v, 1.0 if v == "text" else 0.0)) for v in VIEWS}
    if setting["mode"] == "score":
        combined = sum(w[v] * cos[i] for i, v in enumerate(VIEWS) if w[v])
        return {"dense": top_offsets(combined, limit)}, {"dense": 1.0}
    lists: dict[str, list[int]] = {}
    weights: dict[str, float] = {}
    for i, v in enumerate(VIEWS):
        if w[v]:
            name = "dense" if v == "text" else v
            lists[name] = _view_top(cos, i, limit)
            weights[name] = w[v]
    return lists, weights


_TOP_CACHE: dict[tuple[int, int, int], tuple[np.ndarray, list[int]]] = {}


def _view_top(cos: np.ndarray, view: int, limit: int) -> list[int]:
    """One view's own top list (the same for every weight setting: computed once per query)."""
    key = (id(cos), view, limit)
    hit = _TOP_CACHE.get(key)
    if hit is None or hit[0] is not cos:
        hit = _TOP_CACHE[key] = (cos, top_offsets(cos[view], limit))
    return hit[1]


def dense_lists(cos: np.ndarray, setting: dict[str, Any], rows: Sequence[dict[str, Any]],
                limit: int = LIMIT) -> tuple[dict[str, list[dict[str, Any]]], dict[str, float]]:
    """:func:`dense_offsets` as row lists (what ``sgmcp.ranking.fuse`` takes)."""
    lists, weights = dense_offsets(cos, setting, limit)
    return {name: [rows[o] for o in offs] for name, offs in lists.items()}, weights


def _all_lists(item: dict[str, Any], setting: dict[str, Any], hybrid: bool, hybrid_weights: dict[str, float],
               k: int) -> tuple[dict[str, list[int]], dict[str, float]]:
    lists, weights = dense_offsets(item["cos"], setting, max(LIMIT, k))
    if hybrid:
        lists = {**item.get("others", {}), **lists}
        weights = {**hybrid_weights, **weights}
    return lists, weights


def ranked(item: dict[str, Any], setting: dict[str, Any], rows: Sequence[dict[str, Any]], *, hybrid: bool,
           hybrid_weights: dict[str, float], k: int = K) -> list[str]:
    """Files for one query under ``setting``, through the product's own fusion, code rules and overlap drop
    (``evals.cosqa.fused``: what ``Engine.semantic_candidates`` runs). ``item["others"]``: the other lists
    as chunk offsets."""
    from evals.cosqa import fused, ranked_files

    lists, weights = _all_lists(item, setting, hybrid, hybrid_weights, k)
    return ranked_files(fused({n: [rows[o] for o in offs] for n, offs in lists.items()}, weights, item["query"], k))


class Corpus:
    """One set's chunks as arrays, for :func:`gold_rank` (the same ranking as :func:`ranked`, vectorised)."""

    def __init__(self, rows: Sequence[dict[str, Any]]) -> None:
        from sgmcp.ranking import _DEMOTED_PATH, is_test_code

        self.rows = list(rows)
        self.n = len(self.rows)
        self.kind_factor = np.array([0.7 if r.get("kind", "") == "window" else 0.85 if r.get("kind", "") == "module"
                                     else 1.0 for r in self.rows])
        self.test = np.array([is_test_code(r.get("path", ""), r.get("qualname") or "") for r in self.rows], dtype=bool)
        self.demoted = np.array([bool(_DEMOTED_PATH.search(r.get("path", ""))) for r in self.rows], dtype=bool)
        self.offset = {r["id"]: o for o, r in enumerate(self.rows)}


def gold_rank(item: dict[str, Any], setting: dict[str, Any], corpus: Corpus, *, hybrid: bool,
              hybrid_weights: dict[str, float], k: int = K) -> int | None:
    """The gold file's rank (1-based, None past ``k`` results) under ``setting``: ``fuse`` (weighted RRF, the
    first appearance of a row per list counts, ties in insertion order), ``apply_code_rules`` (the same factors,
    applied in the same order) and ``drop_overlaps`` walked only as far as the gold file, computed with arrays.
    Checked against :func:`ranked` on real queries by the benchmark itself (``fast_path_check`` in the report)."""
    from sgmcp.ranking import RRF_K, asks_for_tests

    lists, weights = _all_lists(item, setting, hybrid, hybrid_weights, k)
    used = [(np.asarray(offs, dtype=np.int64), weights.get(name, 1.0)) for name, offs in lists.items()
            if weights.get(name, 1.0) != 0 and len(offs)]
    if not used:
        return None
    score = np.zeros(corpus.n)
    for offs, w in used:
        first, pos = np.unique(offs, return_index=True)
        score[first] += w / (RRF_K + pos + 1.0)
    seq = np.concatenate([offs for offs, _ in used])
    cands, pos = np.unique(seq, return_index=True)
    cands = cands[np.argsort(pos, kind="stable")]  # insertion order
    cands = cands[np.argsort(-score[cands], kind="stable")]
    final = score[cands] * corpus.kind_factor[cands]
    penalised = corpus.test[cands] & (not asks_for_tests(item["query"]))
    final = final * np.where(penalised, 0.6, np.where(corpus.demoted[cands], 0.85, 1.0))
    cands = cands[np.argsort(-final, kind="stable")]
    kept: dict[str, list[tuple[int, int]]] = {}
    n_kept = 0
    for o in cands.tolist():
        r = corpus.rows[o]
        spans = kept.get(r["path"])
        if spans is not None and any(s <= r["end_line"] and r["start_line"] <= e for s, e in spans):
            continue
        if spans is None:
            if r["path"] == item["gold"]:
                return len(kept) + 1
            kept[r["path"]] = spans = []
        spans.append((r["start_line"], r["end_line"]))
        n_kept += 1
        if n_kept >= k:
            return None
    return None


def rank_metrics(rank: int | None, k: int = K) -> dict[str, float]:
    """``evals.common.metrics`` for one gold item at ``rank``."""
    gold = "\0gold"
    return metrics([None] * (rank - 1) + [gold] if rank else [], {gold}, k)


def score_setting(items: Sequence[dict[str, Any]], corpora: dict[str, Corpus], setting: dict[str, Any], *,
                  hybrid: bool, hybrid_weights: dict[str, float], k: int = K) -> list[dict[str, float]]:
    """Per-query metrics (``rr``, ``p@1``, ...) of ``setting`` over ``items``, in order."""
    return [rank_metrics(gold_rank(it, setting, corpora[it["set"]], hybrid=hybrid, hybrid_weights=hybrid_weights,
                                   k=k), k) for it in items]


def check_fast_path(items: Sequence[dict[str, Any]], corpora: dict[str, Corpus], settings: Sequence[dict[str, Any]],
                    hybrid_weights: dict[str, float], per_set: int = 15, k: int = K) -> dict[str, int]:
    """:func:`gold_rank` against the product's own functions (:func:`ranked`) on the first ``per_set`` queries
    of each set: the number of (query, setting, hybrid?) cases checked and of those whose rank differed."""
    checked = differ = 0
    count: dict[str, int] = {}
    for it in items:
        count[it["set"]] = count.get(it["set"], 0) + 1
        if count[it["set"]] > per_set:
            continue
        for setting in settings:
            for hybrid in (True, False):
                files = ranked(it, setting, corpora[it["set"]].rows, hybrid=hybrid, hybrid_weights=hybrid_weights, k=k)
                slow = files.index(it["gold"]) + 1 if it["gold"] in files[:k] else None
                fast = gold_rank(it, setting, corpora[it["set"]], hybrid=hybrid, hybrid_weights=hybrid_weights, k=k)
                checked += 1
                differ += slow != fast
    return {"checked": checked, "differ": differ}


def settings_grid(grid: Sequence[float] = GRID) -> list[dict[str, Any]]:
    """Every (mode, w_struct, w_sym) of ``grid``; text fixed at 1 (``(0, 0)`` is the text view alone)."""
    return [{"mode": mode, "text": 1.0, "struct": s, "sym": y}
            for mode in MODES for s, y in itertools.product(grid, grid)]


# Diagnostics, never picked: each extra view on its own (no text vector).
ALONE = ({"mode": "score", "text": 0.0, "struct": 1.0, "sym": 0.0}, {"mode": "score", "text": 0.0, "struct": 0.0, "sym": 1.0})


def family(setting: dict[str, Any]) -> str:
    if not setting.get("text", 1.0):
        return "alone:" + ("struct" if setting["struct"] else "sym")
    s, y = setting["struct"] > 0, setting["sym"] > 0
    return "text" if not (s or y) else f"{setting['mode']}:" + ("struct+sym" if s and y else "struct" if s else "sym")


def objective(per_query: Sequence[dict[str, float]], items: Sequence[dict[str, Any]], half: str,
              key: str = "rr") -> float:
    """Mean over the two benchmarks (CSN = macro over its languages; CoSQA) of the mean ``key`` on ``half``."""
    by_set: dict[str, list[float]] = {}
    for m, it in zip(per_query, items):
        if it["half"] == half:
            by_set.setdefault(it["set"], []).append(m[key])
    csn = [statistics.fmean(v) for s, v in by_set.items() if s != "cosqa" and v]
    parts = ([statistics.fmean(csn)] if csn else []) + ([statistics.fmean(by_set["cosqa"])] if by_set.get("cosqa") else [])
    return statistics.fmean(parts) if parts else 0.0


def grid_search(items: Sequence[dict[str, Any]], corpora: dict[str, Corpus],
                settings: Sequence[dict[str, Any]], *, hybrid: bool, hybrid_weights: dict[str, float],
                k: int = K, log=lambda *a: None) -> list[dict[str, Any]]:
    """Each setting scored on every query; ``tune`` / ``check`` objective per setting; the same ``(0, 0)``
    text-only setting is scored once per mode only."""
    out = []
    started = time.perf_counter()
    for n, setting in enumerate(settings, 1):
        pq = score_setting(items, corpora, setting, hybrid=hybrid, hybrid_weights=hybrid_weights, k=k)
        out.append({"setting": setting, "family": family(setting), "tune": round(objective(pq, items, "tune"), 4),
                    "check": round(objective(pq, items, "check"), 4), "_pq": pq})
        if n % 10 == 0 or n == len(settings):
            log(f"    {'hybrid' if hybrid else 'dense'} grid {n}/{len(settings)} ({time.perf_counter() - started:.0f}s)")
    return out


def pick(results: Sequence[dict[str, Any]], fam: str | None = None) -> dict[str, Any]:
    """The best result on ``tune`` (of one family, when given; the ``ALONE`` diagnostics never); ties: smaller total weight, then score mode."""
    pool = [r for r in results if (r["family"] == fam if fam else not r["family"].startswith("alone"))]
    return max(pool, key=lambda r: (r["tune"], -(r["setting"]["struct"] + r["setting"]["sym"]),
                                    r["setting"]["mode"] == "score"))


def stratified_bootstrap(groups: Sequence[tuple[Sequence[float], Sequence[float]]], *, samples: int = 2000,
                         seed: int = 0) -> dict[str, float]:
    """Macro (mean over groups) of ``b - a``, resampling queries within each group; 95% interval."""
    rng = random.Random(seed)
    diffs = [[y - x for x, y in zip(a, b)] for a, b in groups if a]
    if not diffs:
        raise ValueError("stratified_bootstrap needs non-empty groups")
    means = sorted(statistics.fmean(statistics.fmean(d[rng.randrange(len(d))] for _ in d) for d in diffs)
                   for _ in range(samples))
    return {"mean_diff": round(statistics.fmean(statistics.fmean(d) for d in diffs), 4),
            "ci95_low": round(means[int(0.025 * samples)], 4), "ci95_high": round(means[int(0.975 * samples) - 1], 4),
            "p_not_better": round(sum(m <= 0 for m in means) / samples, 4)}


def compare(base_pq: Sequence[dict[str, float]], new_pq: Sequence[dict[str, float]], items: Sequence[dict[str, Any]],
            half: str | None = "check", boot: bool = True) -> dict[str, Any]:
    """Per set and CSN macro: MRR / P@1 of both on ``half`` (None: every query) and the paired bootstrap of
    the MRR difference."""
    sets = list(dict.fromkeys(it["set"] for it in items))
    out: dict[str, Any] = {}
    pairs = {}
    for s in sets:
        idx = [n for n, it in enumerate(items) if it["set"] == s and half in (None, it["half"])]
        if not idx:
            continue
        a, b = [base_pq[n]["rr"] for n in idx], [new_pq[n]["rr"] for n in idx]
        pairs[s] = (a, b)
        out[s] = {"n": len(idx), "text": _short(aggregate([base_pq[n] for n in idx])),
                  "views": _short(aggregate([new_pq[n] for n in idx])),
                  "diff": paired_bootstrap(a, b) if boot else {"mean_diff": round(statistics.fmean(b) - statistics.fmean(a), 4)}}
    csn = [s for s in pairs if s != "cosqa"]
    if csn:
        out["csn_macro"] = {
            "n": sum(len(pairs[s][0]) for s in csn),
            "text": {m: round(statistics.fmean(out[s]["text"][m] for s in csn), 4) for m in ("mrr", "p@1")},
            "views": {m: round(statistics.fmean(out[s]["views"][m] for s in csn), 4) for m in ("mrr", "p@1")},
            "diff": stratified_bootstrap([pairs[s] for s in csn]) if boot else
            {"mean_diff": round(statistics.fmean(statistics.fmean(pairs[s][1]) - statistics.fmean(pairs[s][0]) for s in csn), 4)}}
    return out


def _short(agg: dict[str, float]) -> dict[str, float]:
    return {"mrr": agg["mrr"], "p@1": agg["p@1"], "r@10": agg["r@10"]}


# ---- data --------------------------------------------------------------------------------------
def chunk_rows(engine: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]], np.ndarray]:
    """(slim rows for fusion, full rows for the view texts, text vectors) of the engine's snapshot."""
    table = engine.snapshot.arrow("chunks", _ROW_COLUMNS)
    full = table.drop_columns(["vector"]).to_pylist()
    col = table.column("vector").combine_chunks()
    dim = col.type.list_size
    vectors = np.nan_to_num(col.values.to_numpy(zero_copy_only=False).astype(np.float32).reshape(len(col), dim))
    slim = [{c: r[c] for c in _KEEP} for r in full]
    return slim, full, vectors


def embed_views(encoder: Any, full: Sequence[dict[str, Any]], cache: Path, log=lambda *a: None) -> dict[str, Any]:
    """View vectors (``struct``, ``sym``) for ``full`` rows, cached on disk by encoder and texts."""
    out: dict[str, Any] = {"vectors": {}, "seconds": {}, "texts": {}}
    for view, build in VIEW_TEXT.items():
        texts = [build(r) for r in full]
        key = hashlib.sha256((encoder.name + "\0" + "\0".join(texts)).encode("utf-8", "surrogatepass")).hexdigest()[:16]
        path = cache / f"{view}-{key}.npy"
        if path.exists():
            out["vectors"][view] = np.load(path)
            out["seconds"][view] = None
        else:
            t0 = time.perf_counter()
            vecs = encoder.embed_code(texts)
            out["seconds"][view] = round(time.perf_counter() - t0, 2)
            cache.mkdir(parents=True, exist_ok=True)
            np.save(path, vecs)
            out["vectors"][view] = vecs
            log(f"    embedded {len(texts)} {view} texts in {out['seconds'][view]} s")
        out["texts"][view] = texts
    return out


def throughput(encoder: Any, engine: Any, full: Sequence[dict[str, Any]], n: int = 128) -> dict[str, float]:
    """Chunks per second for the text view (``embedding_text`` of the first ``n`` rows, as the indexer embeds
    them) and the two view texts of the same rows: the added indexing cost."""
    from indexer.encoder import embedding_text

    ids = [r["id"] for r in full[:n]]
    code = {r["id"]: r for r in engine.snapshot.arrow("chunks", ["id", "path", "container", "qualname", "name",
                                                                   "signature", "doc", "code"]).to_pylist()
            if r["id"] in set(ids)}
    texts = {"text": [embedding_text(code[i]) for i in ids], "struct": [struct_text(r) for r in full[:n]],
             "sym": [symbol_text(r) for r in full[:n]]}
    encoder.embed_code(texts["sym"][:8])  # warm
    out = {}
    for view, tx in texts.items():
        t0 = time.perf_counter()
        encoder.embed_code(tx)
        out[view] = round(len(tx) / (time.perf_counter() - t0), 1)
    return out


def collect_set(name: str, engine: Any, encoder: Any, queries: Sequence[dict[str, Any]], cache: Path,
                hybrid_weights: dict[str, float], log=lambda *a: None) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """Items (one per query: cosines per view, the other hybrid lists) and slim rows of one set."""
    slim, full, text_vecs = chunk_rows(engine)
    views = embed_views(encoder, full, cache / name / _slug(encoder.name), log)
    matrix = np.stack([text_vecs, views["vectors"]["struct"], views["vectors"]["sym"]]).astype(np.float32)
    others_w = {s: w for s, w in hybrid_weights.items() if s != "dense" and w}
    offset = {r["id"]: o for o, r in enumerate(slim)}
    items = []
    t0 = time.perf_counter()
    for q in queries:
        qv = np.asarray(encoder.embed_queries([q["query"]])[0], dtype=np.float32)
        lists = engine.retrieval_lists(q["query"], LIMIT, others_w)
        items.append({"set": name, "i": q["i"], "half": "tune" if q["i"] % 2 == 0 else "check", "query": q["query"],
                      "gold": q["gold"], "cos": matrix @ qv,
                      "others": {s: [offset[r["id"]] for r in rows] for s, rows in lists.items()}})
    empty = {v: sum(1 for t in views["texts"][v] if not t) for v in VIEW_TEXT}
    info = {"chunks": len(slim), "queries": len(queries), "query_s": round(time.perf_counter() - t0, 1),
            "view_embed_s": views["seconds"], "empty_view_texts": empty,
            "examples": [{"name": r["qualname"] or r["name"], "struct": views["texts"]["struct"][n],
                          "sym": views["texts"]["sym"][n]} for n, r in enumerate(full[:2])]}
    log(f"  {name}: {len(slim)} chunks, {len(queries)} queries ({info['query_s']} s), empty view texts {empty}")
    return items, slim, info


def csn_sets(languages: Sequence[str], model: str, encoder: Any, work: Path, limit: int | None, log) -> list[tuple[str, Any, list[dict[str, Any]]]]:
    from evals import csn

    bench = csn.load_benchmark(languages, limit=limit, log=log)
    out = []
    for lang, data in bench.items():
        engine, names, _ = csn.prepare_language(work / "csn", lang, data["code"], model, encoder, log)
        queries = [{"i": n, "query": r["query"], "gold": names[r["code_id"]]} for n, r in enumerate(data["queries"])]
        out.append((lang, engine, queries))
    return out


def cosqa_set(model: str, work: Path, limit: int | None, log) -> tuple[str, Any, list[dict[str, Any]]]:
    from evals import cosqa

    engine, _ = cosqa.prepare(work / "cosqa", model, quiet=True)
    return "cosqa", engine, cosqa.load_queries(limit=limit)


# ---- run ---------------------------------------------------------------------------------------
def run_model(model: str, args: argparse.Namespace, log) -> dict[str, Any]:
    from indexer.encoder import load_encoder
    from sgmcp.engine import HYBRID_WEIGHTS

    encoder = load_encoder(model)
    log(f"== model {model}: encoder {encoder.name}")
    started = time.perf_counter()
    sets = []
    if args.languages:
        sets += csn_sets(args.languages, model, encoder, args.work, args.limit, log)
    if not args.no_cosqa:
        sets.append(cosqa_set(model, args.work, args.limit, log))
    items: list[dict[str, Any]] = []
    corpora: dict[str, Corpus] = {}
    info: dict[str, Any] = {}
    speed = None
    for name, engine, queries in sets:
        engine._given_encoder = encoder  # one model in memory
        its, slim, info[name] = collect_set(name, engine, encoder, queries, args.work / "views", HYBRID_WEIGHTS, log)
        items += its
        corpora[name] = Corpus(slim)
        if speed is None:
            speed = throughput(encoder, engine, chunk_rows(engine)[1])
            log(f"  embedding throughput (chunks/s, {name}): {speed}")
    grid = settings_grid() + list(ALONE)
    probe = [grid[0], {"mode": "score", "struct": 0.5, "sym": 0.25}, {"mode": "rrf", "struct": 0.5, "sym": 0.25},
             {"mode": "rrf", "struct": 1.0, "sym": 0.0}]
    fast_check = check_fast_path(items, corpora, probe, HYBRID_WEIGHTS)
    log(f"  fast path vs the product's fuse/code rules/overlap drop: {fast_check}")
    results: dict[str, Any] = {}
    for hybrid in (True, False):
        mode = "hybrid" if hybrid else "dense"
        log(f"  {mode}: {len(grid)} settings x {len(items)} queries")
        res = grid_search(items, corpora, grid, hybrid=hybrid, hybrid_weights=HYBRID_WEIGHTS, log=log)
        base = next(r for r in res if r["family"] == "text" and r["setting"]["mode"] == "score")
        best = pick(res)
        fams = sorted({r["family"] for r in res} - {"text"}, key=lambda f: (f.startswith("alone"), f))
        chosen = {"best": best, **{f: pick(res, f) for f in fams}}
        results[mode] = {
            "text_only": {"tune": base["tune"], "check": base["check"],
                          "per_set_all": _per_set(base["_pq"], items)},
            "chosen": {label: {"setting": r["setting"], "family": r["family"], "tune": r["tune"], "check": r["check"],
                               "check_vs_text": compare(base["_pq"], r["_pq"], items),
                               "all_vs_text": compare(base["_pq"], r["_pq"], items, half=None, boot=False)}
                       for label, r in chosen.items()},
            "grid": [{k: v for k, v in r.items() if k != "_pq"} for r in res],
        }
        log(f"  {mode}: text only tune {base['tune']:.4f} check {base['check']:.4f}; best {best['setting']} "
            f"tune {best['tune']:.4f} check {best['check']:.4f}")
    return {"model": model, "encoder": encoder.name,
            "precision": {"code": getattr(encoder, "code_precision", None), "query": getattr(encoder, "query_precision", None)},
            "hybrid_weights": dict(HYBRID_WEIGHTS), "seconds": round(time.perf_counter() - started, 1),
            "throughput_chunks_per_s": speed, "fast_path_check": fast_check, "sets": info, "results": results}


def _per_set(pq: Sequence[dict[str, float]], items: Sequence[dict[str, Any]]) -> dict[str, dict[str, float]]:
    out = {}
    for s in dict.fromkeys(it["set"] for it in items):
        out[s] = _short(aggregate([m for m, it in zip(pq, items) if it["set"] == s]))
    return out


# ---- report ------------------------------------------------------------------------------------
def _w(setting: dict[str, Any]) -> str:
    return f"{setting['mode']} struct {setting['struct']:g}, sym {setting['sym']:g}"


def _ci(d: dict[str, float]) -> str:
    return f"{d['mean_diff']:+.4f} [{d['ci95_low']:+.4f}, {d['ci95_high']:+.4f}]"


def markdown(report: dict[str, Any]) -> str:
    out = [f"# {report['benchmark']}", "",
           f"Generated by `evals/views.py` ({report.get('git_head') or 'no git'}) on {report['date']}; "
           f"machine: {report['machine']['cores']} cores ({report['machine']['processor']}), shared with other "
           f"jobs; `uptime` at start: `{report['uptime_start']}`, at end: `{report.get('uptime_end')}`.", "",
           f"Command: `{report.get('merged') or report['command']}`" + (
               f" (environment: `{' '.join(f'{k}={v}' for k, v in report['env'].items())}`)" if report.get("env") else ""), "",
           "Tune = even query positions of each set, check = odd. Weights chosen on tune only (objective: mean of "
           "CSN macro MRR and CoSQA MRR, hybrid). Differences are check-half MRR of the views minus the text view "
           "alone, paired bootstrap 95% CI (CSN macro: stratified by language).", ""]
    for run in report["runs"]:
        out += [f"## {run['model']} (`{run['encoder']}`, code {run['precision']['code']}, query "
                f"{run['precision']['query']}), {run['seconds']} s", ""]
        if run.get("command"):
            out += [f"Run: `{run['command']}` on {run['date']}; `uptime` before: `{run['uptime_start']}`, after: "
                    f"`{run['uptime_end']}`.", ""]
        out += [
                f"Hybrid weights of the other lists: `{json.dumps(run['hybrid_weights'])}`. Embedding throughput on "
                f"this loaded machine (1 torch thread, chunks/s): text view {run['throughput_chunks_per_s']['text']}, "
                f"struct {run['throughput_chunks_per_s']['struct']}, sym {run['throughput_chunks_per_s']['sym']}.", ""]
        for mode in ("hybrid", "dense"):
            r = run["results"][mode]
            out += [f"### {mode}", "",
                    f"Text view alone: tune objective {r['text_only']['tune']:.4f}, check {r['text_only']['check']:.4f}.",
                    "", "| family (best on tune) | weights | tune obj | check obj | CSN macro MRR text → views | "
                    "CSN macro Δ MRR [95% CI] | CoSQA MRR text → views | CoSQA Δ MRR [95% CI] |", "|" + "---|" * 8]
            for label, c in r["chosen"].items():
                cv = c["check_vs_text"]
                if label.startswith("alone"):
                    label = f"{label} (diagnostic, no text vector)"
                m, q = cv.get("csn_macro"), cv.get("cosqa")
                out.append(f"| {label}{' (' + c['family'] + ')' if label == 'best' else ''} | {_w(c['setting'])} | "
                           f"{c['tune']:.4f} | {c['check']:.4f} | "
                           + (f"{m['text']['mrr']:.4f} → {m['views']['mrr']:.4f} | {_ci(m['diff'])} | " if m else "– | – | ")
                           + (f"{q['text']['mrr']:.4f} → {q['views']['mrr']:.4f} | {_ci(q['diff'])} |" if q else "– | – |"))
            best = r["chosen"]["best"]
            out += ["", verdict(r["chosen"])]
            shown, what = best, "Best on tune"
            if best["family"] == "text":  # nothing beat the text view: show the best view family instead
                shown = max((c for label, c in r["chosen"].items() if label != "best" and not label.startswith("alone")),
                            key=lambda c: c["tune"])
                what = f"The text view alone was best on tune; the best view family on tune, {shown['family']},"
            out += ["", f"{what} ({_w(shown['setting'])}), check half per set:", "",
                    "| set | n | text MRR / P@1 | views MRR / P@1 | Δ MRR [95% CI] |", "|---|---|---|---|---|"]
            for s, v in shown["check_vs_text"].items():
                out.append(f"| {s} | {v['n']} | {v['text']['mrr']:.4f} / {v['text']['p@1']:.4f} | "
                           f"{v['views']['mrr']:.4f} / {v['views']['p@1']:.4f} | {_ci(v['diff'])} |")
            out.append("")
        out += ["### sets", "", "| set | chunks | queries | empty struct / sym texts |", "|---|---|---|---|"]
        for s, i in run["sets"].items():
            out.append(f"| {s} | {i['chunks']} | {i['queries']} | {i['empty_view_texts']['struct']} / "
                       f"{i['empty_view_texts']['sym']} |")
        out.append("")
    return "\n".join(out) + "\n"


def verdict(chosen: dict[str, Any]) -> str:
    """The issue's rule on the check halves: a view family helps when the CI of its CSN macro MRR difference is
    above 0 and CoSQA loses nothing (its MRR difference is not below 0). Families with a CSN gain but a CoSQA
    point loss (whose CI still reaches 0) are named apart."""
    clear, mixed = [], []
    for label, c in chosen.items():
        if label == "best" or label.startswith("alone"):
            continue
        m, q = c["check_vs_text"].get("csn_macro"), c["check_vs_text"].get("cosqa")
        if m and m["diff"]["ci95_low"] > 0:
            text = f"{label} ({_w(c['setting'])}: CSN {_ci(m['diff'])}" + (f", CoSQA {_ci(q['diff'])})" if q else ")")
            (clear if q is None or q["diff"]["mean_diff"] >= 0 else mixed).append(text)
    out = "**Verdict (check halves):** " + ("; ".join(clear) + " clear the bar (CSN macro CI above 0, no CoSQA loss)."
                                            if clear else "no view family clears the bar (CSN macro MRR CI above 0 "
                                            "and no CoSQA loss).")
    if mixed:
        out += " CSN gain but a CoSQA loss: " + "; ".join(mixed) + "."
    return out


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return str(machine()["load_avg_at_start"])


def main(argv: list[str] | None = None) -> int:
    from evals.csn import LANGUAGES

    ap = argparse.ArgumentParser(prog="python -m evals.views", description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", action="append", default=None, help="encoder: default | base | PATH; repeat to compare")
    ap.add_argument("--languages", nargs="*", choices=LANGUAGES, default=list(LANGUAGES), metavar="LANG",
                    help="CSN languages (default all; none: CoSQA only)")
    ap.add_argument("--no-cosqa", action="store_true", help="leave CoSQA dev out")
    ap.add_argument("--limit", type=int, default=None, help="first N queries per set only")
    ap.add_argument("--work", type=Path, default=DEFAULT_WORK, help=f"work directory (default {DEFAULT_WORK})")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1: a shared machine)")
    ap.add_argument("--json", dest="json_out", type=Path, default=None)
    ap.add_argument("--md", dest="md_out", type=Path, default=None)
    ap.add_argument("--merge", nargs="+", type=Path, default=None, metavar="JSON",
                    help="evaluate nothing: join the runs of these reports (then --json / --md)")
    args = ap.parse_args(argv)
    log = lambda *a: print(*a, file=sys.stderr, flush=True)  # noqa: E731
    command = "python -m evals.views " + " ".join(argv if argv is not None else sys.argv[1:])

    def save(report: dict[str, Any]) -> None:
        write_reports(report, args.json_out, args.md_out, markdown)

    if args.merge:
        reports = [json.loads(p.read_text()) for p in args.merge]
        for r in reports:
            for run in r["runs"]:
                run.update(command=r["command"], date=r["date"], uptime_start=r["uptime_start"],
                           uptime_end=r.get("uptime_end"))
        report = {**reports[0], "runs": [run for r in reports for run in r["runs"]], "merged": command}
        save(report)
        print(markdown(report))
        return 0
    import torch

    torch.set_num_threads(args.threads)
    report: dict[str, Any] = {
        "benchmark": "Structure and symbol views beside the text vector (CSN protocol per language + CoSQA dev)",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "uptime_start": _uptime(),
        "command": command,
        "env": {k: v for k, v in sorted(os.environ.items()) if k.startswith("SGMCP_")},
        "git_head": git_head(), "machine": machine(),
        "k": K, "limit": LIMIT, "grid": GRID, "runs": []}
    for model in args.model or ["default"]:
        report["runs"].append(run_model(model, args, log))
        report["uptime_end"] = _uptime()
        save(report)
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
