"""Multi-hop search without an LLM: search, then follow the call graph from the best hits and rank
everything reached against the question. Each hop is recorded in the answer's trail."""

from __future__ import annotations

import numpy as np

from .engine import Engine
from .models import Result
from .ranking import Candidate, apply_code_rules, drop_overlaps, fuse

FRONTIER = 3  # hits expanded per hop
MAX_REACHED = 200


def multi_hop(engine: Engine, query: str, k: int, max_hops: int, trail: list[str] | None = None) -> list[Result]:
    trail = trail if trail is not None else []
    first = engine.semantic_candidates(query, max(k, 10))
    trail.append(f"hop 1: hybrid search for {query!r} -> " + ", ".join(c.row["qualname"] for c in first[:FRONTIER]))
    graph = engine.graph
    visited: set[str] = {c.row["definition_id"] for c in first if c.row.get("definition_id")}
    frontier = [c.row["definition_id"] for c in first[:FRONTIER] if c.row.get("definition_id")]
    reached: list[str] = []
    for hop in range(2, max_hops + 1):
        nxt: list[str] = []
        for sym_id in frontier:
            sym = graph.symbols.get(sym_id)
            if sym is None:
                continue
            callees = [s.id for ref in graph.callees(sym_id) for s in graph.by_name(ref.name)]
            callers = [s.id for _, s in graph.callers(sym.name) if s is not None]
            for other in callees + callers:
                if other not in visited:
                    visited.add(other)
                    nxt.append(other)
            trail.append(f"hop {hop}: {sym.qualname} -> {len(callees)} callees, {len(callers)} callers")
        reached.extend(nxt)
        frontier = nxt[:FRONTIER * 4]
        if not frontier or len(reached) >= MAX_REACHED:
            break
    lists = {"search": [c.row for c in first]}
    if reached:
        lists["graph"] = _rank_reached(engine, query, reached[:MAX_REACHED])
    ranked = apply_code_rules(fuse(lists, {"search": 1.0, "graph": 0.8}), query)
    return [engine.chunk_result(c) for c in drop_overlaps(ranked, k)]


def _rank_reached(engine: Engine, query: str, definition_ids: list[str]) -> list[dict]:
    rows = engine.chunks_for_definitions(definition_ids, with_vectors=engine.has_vectors)
    if engine.has_vectors and rows:
        q = engine.encoder.embed_queries([query])[0]
        scores = np.array([float(np.dot(q, r["vector"])) if r.get("vector") is not None else -1.0 for r in rows])
    else:
        words = set(query.lower().split())
        scores = np.array([len(words & set((r["qualname"] + " " + (r.get("signature") or "")).lower().split()))
                           for r in rows], dtype=float)
    order = np.argsort(-scores)
    return [rows[i] for i in order]


__all__ = ["Candidate", "multi_hop"]
