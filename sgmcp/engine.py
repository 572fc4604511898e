"""The query side: one place that wires the index (store + graph) to the search strategies."""

from __future__ import annotations

import gc
import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from indexer.encoder import Encoder, load_encoder
from indexer.graph import Graph, Symbol
from indexer.identifiers import split_text
from indexer.store import IndexStore, Snapshot, default_index_dir

from . import startcache
from .chunkcache import IN_MEMORY_MAX_ROWS, ChunkCache, side_pool
from .models import IndexState, Result, SearchResponse
from .ranking import Candidate, apply_code_rules, drop_overlaps, fuse, is_test_path
from .snippets import fit_budget, numbered
from .startcache import CachedIndex

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:(?:::|\.|->|#)[A-Za-z_][A-Za-z0-9_]*)*")
_KIND_RANK = {"class": 0, "struct": 0, "interface": 0, "trait": 0, "enum": 0, "protocol": 0, "function": 1,
              "method": 1, "impl": 2, "type": 2, "module": 3, "namespace": 3, "constant": 4, "macro": 4}
DEFAULT_MAX_TOKENS = 4000
# Weighted reciprocal-rank fusion; tuned on development data (evals/tune_fusion.py, docs/benchmarks.md).
HYBRID_WEIGHTS = {"dense": 1.0, "bm25": 0.1, "name": 0.0, "symbol": 1.5, "path": 0.3}
LEXICAL_WEIGHTS = {"bm25": 1.0, "symbol": 1.5, "name": 1.0, "path": 0.5}
SNIPPET_LINES = 16
OVERLOAD_GAP = 6  # lines between one overload and the next (comments, decorators) at most
_OVERLOADABLE = frozenset({"function", "method"})


class QueryError(ValueError):
    """A query the index cannot answer as asked (bad path, empty query): shown to the caller as is."""


class Engine:
    """Answers queries from the last committed state of one repository's index."""

    def __init__(self, root: str | os.PathLike[str], index_dir: str | None = None, *,
                 model: str | None = None, encoder: Encoder | None = None) -> None:
        self.root = Path(root).resolve()
        self.index_uri = index_dir or default_index_dir(self.root)
        self._store: IndexStore | None = None
        self.model_spec = model
        self.weights = dict(HYBRID_WEIGHTS)
        self._snapshot: Snapshot | None = None
        self._graph: Graph | None = None
        self._given_encoder = encoder
        self._chunks: ChunkCache | None = None
        self._encoder: Encoder | None = None
        self._lock = threading.RLock()  # tools run in worker threads; build shared state once
        self._encoder_lock = threading.Lock()
        self._cached: CachedIndex | None = None  # set while answering from the start-up copy

    def start_from_cache(self) -> bool:
        """Take the graph from the start-up copy beside the index, if it matches the index as it is
        (milliseconds; no LanceDB). Symbol queries are then answered while the index opens."""
        with long_lived():
            loaded = startcache.load(self.index_uri)
        if loaded is None:
            return False
        with self._lock:
            if self._graph is None and self._snapshot is None:
                self._graph, self._cached = loaded
        return self._cached is not None

    def save_start_cache(self) -> None:
        """Write the start-up copy for the current commit (a server does this once it is warm)."""
        key = startcache.commit_log_key(self.index_uri)  # read before the snapshot: see startcache.save
        if key is not None and key != startcache.saved_key(self.index_uri):
            self.refresh()
            startcache.save(self.index_uri, key, self.snapshot)

    # ---- index state ---------------------------------------------------------------------
    @property
    def store(self) -> IndexStore:
        """Opened on first use: importing lancedb takes a second, which start-up should not wait for."""
        with self._lock:
            if self._store is None:
                self._store = IndexStore(self.index_uri)
            return self._store

    def refresh(self) -> bool:
        """Pick up a newer commit, if any. Returns True when the view changed. After a few small
        commits (a watcher's batches) the graph is patched with the changed files only."""
        with self._lock:
            old = self._snapshot
            if old is not None:
                since = self.store.commits_since(old.commit.seq)
                if since == []:
                    return False
            snapshot = self.store.snapshot()
            if old is None or snapshot.commit.encoder != old.commit.encoder:
                self._encoder = None
            changed = None
            if old is not None and since and len(since) <= 100 and self._graph is not None \
                    and not self._graph.needs_reload:
                changed = {p for c in since for p in c.paths}
            elif old is None and self._cached is not None and self._cached.seq == snapshot.commit.seq:
                changed = set()  # the start-up copy is this very commit's graph
            self._cached = None
            if changed is not None:
                self._graph.apply(snapshot, changed)  # a patch: few new objects, nothing to freeze
            else:
                self._graph = None
            if old is None or snapshot.commit.versions.get("chunks") != old.commit.versions.get("chunks"):
                self._chunks = None  # row offsets move with every write, compaction's included
            self._snapshot = snapshot
            return True

    @property
    def snapshot(self) -> Snapshot:
        if self._snapshot is None:
            self.refresh()
        assert self._snapshot is not None
        return self._snapshot

    @property
    def graph(self) -> Graph:
        graph = self._graph  # no lock when built: a start-up copy answers while refresh() opens the index
        if graph is not None:
            return graph
        with self._lock:
            if self._graph is None:
                snapshot = self.snapshot
                with long_lived():
                    self._graph = Graph(snapshot)
            return self._graph

    def cached_state(self) -> IndexState | None:
        """The state while answering from the start-up copy (the index not opened yet), else None."""
        cached = self._cached
        return None if cached is None else self._fresh_state(cached.chunks, cached.created, cached.encoder)

    def state(self) -> IndexState:
        cached = self.cached_state()
        if cached is not None:
            return cached
        snap = self.snapshot
        return self._fresh_state(snap.tables["chunks"].count_rows(), snap.commit.created, snap.commit.encoder)

    def _fresh_state(self, chunks: int, indexed_at: float, encoder: str) -> IndexState:
        return IndexState(state="fresh", files=len(self.graph.files), symbols=len(self.graph.symbols),
                          chunks=chunks, indexed_at=indexed_at, encoder=encoder)

    # ---- strategies ----------------------------------------------------------------------
    def find_definition(self, symbol: str, k: int = 5) -> list[Result]:
        symbol = _require(symbol, "symbol")
        exact, bodies = join_overloads(self.graph.definitions(symbol))
        if exact:
            last = re.split(r"::|\.|#|->|/|:", symbol.strip())[-1]
            exact.sort(key=lambda s: (s.name != last, is_test_path(s.path), _KIND_RANK.get(s.kind, 5),
                                      len(s.path), s.path, s.start_line))
            hits = [(s, 1.0 - i * 1e-3) for i, s in enumerate(exact[:k])]
        else:
            hits = self._fuzzy_symbols(symbol, k)
        return [self._symbol_result(s, score, focus=bodies.get(s.id)) for s, score in hits]

    def _fuzzy_symbols(self, symbol: str, k: int) -> list[tuple[Symbol, float]]:
        """Near spellings (edit-distance ratio >= 70: ``shortest_pth``), then names sharing the query's
        words (``parse`` -> ``parse_config``). Not WRatio: its partial matching is 20x slower (60-140 ms
        at 17k names, holding the GIL) and ranks ``__set__`` for ``QuerySett``."""
        from rapidfuzz import fuzz, process, utils

        name = re.split(r"::|\.|#|->|/|:", symbol.strip())[-1]
        matches = process.extract(name, self.graph.names(), scorer=fuzz.ratio, processor=utils.default_process,
                                  limit=k * 2, score_cutoff=70)
        out: list[tuple[Symbol, float]] = []
        for match, score, _ in matches:
            for sym in sorted(self.graph.by_name(match), key=lambda s: (is_test_path(s.path), s.path)):
                out.append((sym, score / 100.0))
        if len(out) < k:
            have = {s.id for s, _ in out}
            out += [(s, 0.7 * score) for s, score in self.graph.name_matches(name, k * 2)
                    if score >= 0.5 and s.id not in have]
        return out[:k]

    def find_usages(self, symbol: str, k: int = 50) -> list[Result]:
        """Each reference site, grouped by the definition that holds it."""
        symbol = _require(symbol, "symbol")
        name = re.split(r"::|\.|#|->|/|:", symbol.strip())[-1]
        groups: dict[str, tuple[Symbol | None, Any, list[int]]] = {}
        for ref in self.graph.references(name):
            enclosing = self.graph.symbols.get(ref.enclosing_id)
            key = ref.enclosing_id or f"{ref.path}:<module>"
            if key in groups:
                groups[key][2].append(ref.line)
            else:
                groups[key] = (enclosing, ref, [ref.line])
        ordered = sorted(groups.values(), key=lambda g: (is_test_path(g[1].path), g[1].path, g[1].line))
        results = []
        for enclosing, ref, lines in ordered[:k]:
            if enclosing is not None:
                r = self._symbol_result(enclosing, 1.0, focus=lines[0], max_lines=6)
            else:
                r = self._line_result(ref.path, lines[0])
            results.append(r.model_copy(update={"line": lines[0]}))
        return results

    def lexical_search(self, query: str, k: int = 10) -> list[Result]:
        """BM25 over split identifiers, fused with exact symbol-name and path matches."""
        query = _require(query, "query")
        lists = self.retrieval_lists(query, max(50, k * 5), LEXICAL_WEIGHTS)
        ranked = apply_code_rules(fuse(lists, LEXICAL_WEIGHTS), query)
        return self.chunk_results(drop_overlaps(self._overload_bodies(ranked, k), k))

    @property
    def encoder(self) -> Encoder:
        """The encoder the index was built with (loaded on first use; heavy)."""
        with self._encoder_lock:  # not self._lock: loading takes seconds, symbol lookups must not wait
            return self._encoder or self._load_encoder()

    def _load_encoder(self) -> Encoder:
        if self._encoder is None:
            encoder = self._given_encoder or load_encoder(self.model_spec)
            built_with = self.snapshot.commit.encoder
            if encoder.name != built_with:
                raise QueryError(f"the index was built with encoder {built_with or 'none'!r}, not "
                                 f"{encoder.name!r}: re-run `sgmcp index` with the same --model")
            self._encoder = encoder
        return self._encoder

    @property
    def has_vectors(self) -> bool:
        return bool(self.snapshot.commit.encoder)

    def semantic_search(self, query: str, k: int = 10) -> list[Result]:
        """Dense vectors fused with BM25, symbol-name and path evidence, then code-aware rules."""
        query = _require(query, "query")
        return self.chunk_results(self.semantic_candidates(query, k))

    def semantic_candidates(self, query: str, k: int, *, vector: np.ndarray | None = None) -> list[Candidate]:
        """The top ``k`` chunks for ``query``, best first (``vector``: its embedding, if already known)."""
        weights = self.weights if self.has_vectors else LEXICAL_WEIGHTS
        lists = self.retrieval_lists(query, max(50, k * 5), weights, vector=vector)
        return drop_overlaps(self._overload_bodies(apply_code_rules(fuse(lists, weights), query), k), k)

    def _overload_bodies(self, cands: list[Candidate], k: int) -> list[Candidate]:
        """An overload signature among the best ``3 * k`` stands for its implementation, the definition
        with the body (``join_overloads``); the copies then overlap and ``drop_overlaps`` keeps the best."""
        for c in cands[: 3 * k]:
            r = c.row
            if r.get("kind") not in _OVERLOADABLE or not r.get("definition_id"):
                continue
            defs = [s for s in self.graph.definitions(r["qualname"]) if s.path == r["path"]]
            if len(defs) < 2:
                continue
            joined, bodies = join_overloads(defs)
            body = next((s.id for s in joined if s.id in bodies and s.start_line <= r["start_line"] <= s.end_line),
                        None)
            if body is not None and body != r["definition_id"]:
                rows = self.chunks.rows_where("definition_id", [body])
                if rows:
                    c.row = rows[0]
        return cands

    def retrieval_lists(self, query: str, limit: int, weights: dict[str, float], *,
                        vector: np.ndarray | None = None) -> dict[str, list[dict[str, Any]]]:
        """The ranked row lists that fusion combines, one per source with a non-zero weight:
        ``bm25``, ``symbol`` (exact names), ``name`` (split-name words), ``path``, ``dense``."""
        lists: dict[str, list[dict[str, Any]]] = {}
        bm25 = None
        if weights.get("bm25"):
            # LanceDB's full-text search runs outside the GIL: on a second core, beside the query
            # encoding (one torch thread), it costs no wall time (5-6 ms of a ~30 ms search).
            self.chunks  # noqa: B018  (built here, not raced for by the worker)
            bm25 = side_pool().submit(self._bm25, query, limit)
        if weights.get("symbol"):
            names = [n for n in (m.group(0) for m in _IDENT.finditer(query)) if _looks_like_symbol(n, query)]
            symbol_ids = [s.id for n in names if len(n) > 2 for s in self.graph.definitions(n)][:limit]
            if symbol_ids:
                lists["symbol"] = self.chunks.rows_where("definition_id", symbol_ids)
        if weights.get("name"):
            named = [s.id for s, score in self.graph.name_matches(query, limit) if score >= 0.25]
            if named:
                lists["name"] = self.chunks.rows_where("definition_id", named)
        if weights.get("path"):
            words = [t for t in query.split() if "/" in t or "." in t]
            paths = [p for p in self.graph.files if any(t in p for t in words)] if words else []
            if paths:
                lists["path"] = self._rows_for_paths(paths[:20])
        if weights.get("dense") and self.has_vectors:
            lists["dense"] = self._dense(query, limit, vector)
        if bm25 is not None:
            lists = {"bm25": bm25.result(), **lists}
        return lists

    def _dense(self, query: str, limit: int, vector: np.ndarray | None = None) -> list[dict[str, Any]]:
        if vector is None:
            vector = self.encoder.embed_queries([query])[0]
        cache = self.chunks
        if cache.vectors is not None:
            return cache.nearest(vector, limit)
        table = self.snapshot.tables["chunks"]
        hits = (table.search(vector, vector_column_name="vector").distance_type("cosine")
                .select(["id"]).limit(limit).to_list())
        rows = cache.rows_for_ids(h["id"] for h in hits)
        for row, hit in zip(rows, hits):
            row["_distance"] = hit["_distance"]
        return rows

    @property
    def chunks(self) -> ChunkCache:
        """The snapshot's chunk metadata and offsets (and vectors, unless the index is too large) in memory."""
        with self._lock:
            if self._chunks is None:
                table = self.snapshot.tables["chunks"]
                in_memory = self.has_vectors and table.count_rows() <= IN_MEMORY_MAX_ROWS
                with long_lived():
                    self._chunks = ChunkCache(table, in_memory)
            return self._chunks

    def _bm25(self, query: str, limit: int) -> list[dict[str, Any]]:
        terms = split_text(query)
        if not terms.strip():
            return []
        table = self.snapshot.tables["chunks"]
        try:  # ids only: the rows come from memory
            hits = (table.search(terms, query_type="fts", fts_columns="text_split").select(["id"])
                    .limit(limit).to_arrow())
        except Exception:  # no FTS index yet (empty or brand-new table)
            return []
        return self.chunks.rows_for_ids(hits.column("id").to_pylist())

    def _rows_for_paths(self, paths: list[str]) -> list[dict[str, Any]]:
        order = {p: i for i, p in enumerate(paths)}
        rows = self.chunks.rows_where("path", paths)
        rows.sort(key=lambda r: (order[r["path"]], r["start_line"]))
        return rows

    def chunks_for_definitions(self, definition_ids: list[str], *, with_vectors: bool = False) -> list[dict[str, Any]]:
        """The chunk rows (code included) of these definitions."""
        return self.chunks.rows_where("definition_id", definition_ids, code=True, vectors=with_vectors)

    def outline(self, path: str) -> list[Result]:
        rel = self.relative_path(path)
        if rel not in self.graph.files:
            raise QueryError(f"not in the index: {rel}")
        return [self._symbol_result(s, 1.0, max_lines=1) for s in self.graph.in_file(rel)]

    def relative_path(self, path: str) -> str:
        """A repository-relative path for ``path``; anything outside the repository is refused."""
        path = _require(path, "path")
        candidate = Path(path)
        try:
            absolute = (candidate if candidate.is_absolute() else self.root / candidate).resolve()
        except (OSError, RuntimeError, ValueError) as err:  # a symlink loop, a NUL byte
            raise QueryError(f"cannot resolve path {path!r}: {type(err).__name__}") from None
        if not absolute.is_relative_to(self.root):
            raise QueryError(f"path is outside the repository: {path}")
        return absolute.relative_to(self.root).as_posix()

    # ---- results -------------------------------------------------------------------------
    def _read_lines(self, rel: str, start: int, end: int) -> str:
        try:
            path = (self.root / rel).resolve()
            if not path.is_relative_to(self.root):  # replaced by a link out of the repository since indexing
                return ""
            with open(path, encoding="utf-8", errors="replace") as fh:
                lines = fh.read().splitlines()
        except (OSError, RuntimeError):  # gone, unreadable, a symlink loop
            return ""
        return "\n".join(lines[start - 1: end])

    def _symbol_result(self, s: Symbol, score: float, *, focus: int | None = None,
                       max_lines: int = SNIPPET_LINES) -> Result:
        code = self._read_lines(s.path, s.start_line, s.end_line)
        return Result(path=s.path, start_line=s.start_line, end_line=s.end_line, symbol=s.qualname,
                      container=s.container, kind=s.kind, language=s.language, score=round(score, 4),
                      snippet=numbered(code, s.start_line, max_lines, focus), signature=s.signature)

    def _line_result(self, rel: str, line: int) -> Result:
        start = max(1, line - 1)
        code = self._read_lines(rel, start, line + 1)
        return Result(path=rel, start_line=start, end_line=start + max(0, code.count("\n")),
                      symbol=Path(rel).stem, kind="module", language=self.graph.files.get(rel, ""),
                      score=1.0, snippet=numbered(code, start, 3))

    def chunk_results(self, cands: list[Candidate]) -> list[Result]:
        """Results for candidates, their code read in one go."""
        self.chunks.add_code(c.row for c in cands)
        return [self._chunk_result(c) for c in cands]

    def _chunk_result(self, c: Candidate) -> Result:
        r = c.row
        symbol = r["qualname"] if r["kind"] not in ("window",) else r["name"]
        return Result(path=r["path"], start_line=r["start_line"], end_line=r["end_line"], symbol=symbol,
                      container=r["container"], kind=r["kind"], language=r["language"],
                      score=round(c.score * 100, 4), snippet=numbered(r["code"], r["start_line"], SNIPPET_LINES),
                      signature=r.get("signature") or "")

    def respond(self, query: str, intent: str, results: list[Result], started: float,
                max_tokens: int = DEFAULT_MAX_TOKENS, notes: list[str] | None = None,
                index: IndexState | None = None) -> SearchResponse:
        kept, truncated = fit_budget(results, max_tokens)
        return SearchResponse(query=query, intent=intent, results=kept, truncated=truncated,
                              took_ms=round((time.perf_counter() - started) * 1000, 2),
                              index=index or self.state(), notes=notes or [])


@contextmanager
def long_lived() -> Iterator[None]:
    """Build the in-memory index (millions of long-lived objects) without the cyclic garbage collector,
    then freeze what exists out of its sight. Otherwise its full passes over them (0.5-0.9 s at 31k
    chunks on 2 cores) run during whichever query happens to trigger one: the p99 of search. The
    index's structures are acyclic, so reference counting still frees a replaced graph."""
    enabled = gc.isenabled()
    if enabled:  # (off: the server is starting, and everything young is meant to live)
        gc.collect(1)  # young cyclic garbage is not frozen with the index (a full pass costs too much here)
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def _looks_like_symbol(token: str, query: str) -> bool:
    """``parse_config``, ``HttpClient``, ``a::b``; or any word when the query is just one or two words.
    Plain English words in a sentence ("new", "once") must not pull in every symbol of that name."""
    if len(query.split()) <= 2:
        return True
    return "_" in token.strip("_") or any(sep in token for sep in ("::", ".", "->", "#")) \
        or any(c.isupper() for c in token[1:])


def join_overloads(defs: list[Symbol]) -> tuple[list[Symbol], dict[str, int]]:
    """Overload signatures written one after another above their implementation (TypeScript's, Python's
    ``@overload``, a property's getter and setter) as one definition: from the first signature to the end
    of the last, which names it (its id and signature). Also returns, per joined definition, the line of
    the last one's start, for the snippet to show the body rather than only the signatures."""
    out: list[Symbol] = []
    bodies: dict[str, int] = {}
    for s in sorted(defs, key=lambda s: (s.path, s.start_line)):
        prev = out[-1] if out else None
        if prev is not None and (prev.path, prev.qualname, prev.kind) == (s.path, s.qualname, s.kind) \
                and 0 < s.start_line - prev.end_line <= OVERLOAD_GAP:
            out[-1] = replace(s, start_line=prev.start_line)
            bodies.pop(prev.id, None)
            bodies[s.id] = s.start_line
        else:
            out.append(s)
    return out, bodies


def _require(value: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise QueryError(f"{what} must be a non-empty string")
    if len(value) > 2000:
        raise QueryError(f"{what} is too long ({len(value)} characters; at most 2000)")
    return value
