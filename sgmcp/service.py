"""The server's state: one repository's engine, its background (re)indexing, and what each client
has already been shown. Tools in ``server.py`` are thin wrappers over this class."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from .context import AgentContext, apply_context
from .engine import DEFAULT_MAX_TOKENS, Engine, QueryError
from .models import IndexState, Result, SearchResponse
from .rerank import LLMReranker

if TYPE_CHECKING:
    from indexer.watch import Watcher

log = logging.getLogger("sgmcp")
SEEN_PER_CLIENT = 200


class SearchService:
    def __init__(self, root: str | Path, index_dir: str | None = None, *, model: str | None = None,
                 watch: bool = True) -> None:
        from indexer.encoder import load_encoder

        self.encoder = load_encoder(model)  # cheap: weights load on first use
        self.engine = Engine(root, index_dir, encoder=self.encoder)
        self.watcher: Watcher | None = None  # made and started by the warm-up (the indexing code loads then)
        self._watch = watch
        self._watch_lock = threading.Lock()  # close() may come while the warm-up starts the watcher
        self._closed = False
        self.rerank_by_default = os.environ.get("SGMCP_RERANK", "0") not in ("0", "", "false")
        self._reranker: LLMReranker | None = None
        self._seen: OrderedDict[str, set[tuple[str, int]]] = OrderedDict()
        self._answered = threading.Event()
        self._save_lock = threading.Lock()
        # Symbol queries answer from the start-up copy at once; the index opens meanwhile.
        self._from_cache = self.engine.start_from_cache()  # startcache.load never raises
        threading.Thread(target=self._warm_up, name="sgmcp-warm-up", daemon=True).start()

    @property
    def reranker(self) -> LLMReranker:
        if self._reranker is None:
            self._reranker = LLMReranker()
        return self._reranker

    def close(self) -> None:
        with self._watch_lock:
            self._closed = True
        if self.watcher is not None:
            self.watcher.stop()
        self._save_start_cache()  # the watcher may have moved the index on: the next start is fast too

    def _save_start_cache(self) -> None:
        try:
            with self._save_lock:  # the warm-up and close() may both get here
                self.engine.save_start_cache()
        except Exception:  # an optimisation only; the next start opens the index the normal way
            log.debug("could not write the start-up copy", exc_info=True)

    def _warm_up(self) -> None:
        """Open the index and load the graph and encoder before the first query needs them, while
        the client is still initialising. One torch thread: on a small machine, two threads
        collapse when anything else runs, and answers must stay fast. With a start-up copy loaded,
        the (GIL-heavy) LanceDB import and the watcher's first full pass wait for the first answer,
        or a second, so as not to slow it."""
        if self._from_cache:
            self._answered.wait(1.0)
        try:
            if self.engine.store.last_commit() is not None:
                self.engine.refresh()
                self.engine.graph.build_lazy_parts()
                self.engine.chunks  # noqa: B018
                self._save_start_cache()
        except Exception:
            log.debug("index warm-up failed", exc_info=True)
        import torch

        torch.set_num_threads(1)  # before the watcher starts: it embeds on one forward pass per torch thread
        if self._watch:
            from indexer.watch import Watcher

            with self._watch_lock:
                if not self._closed:
                    self.watcher = Watcher(self.engine.root, self.engine.index_uri, encoder=self.encoder,
                                           reconcile_first=True, on_commit=self._reload).start()
        try:
            self.encoder.embed_queries(["warm up"])
        except Exception:  # the first real query reports the problem
            log.debug("encoder warm-up failed", exc_info=True)

    def _reload(self) -> None:
        """After the watcher's commit, in its thread: the next query finds the new commit's graph and chunk
        cache built, rather than building them itself (the cache alone is ~0.4 s at 120k chunks)."""
        if self.engine.refresh():
            self.engine.graph  # noqa: B018
            self.engine.chunks  # noqa: B018

    def state(self) -> IndexState:
        watch = self.watcher.state() if self.watcher is not None else None
        # A watcher the warm-up has not started yet still owes its first full pass.
        pending = watch.pending if watch is not None else int(self._watch and not self._closed)
        applying = watch is not None and watch.applying
        last_error = watch.last_error if watch is not None else ""
        state = self.engine.cached_state()  # answering from the start-up copy while the index opens
        if state is None:
            if self.engine.store.last_commit() is None:
                building = applying or pending > 0
                return IndexState(state="building" if building else "missing",
                                  note=(last_error or ("the first index is being built; try again shortly"
                                                       if building else "no index: run `sgmcp index`")))
            self.engine.refresh()
            state = self.engine.state()
        if self._watch:
            state.pending = pending
            state.lag_seconds = watch.oldest_pending_s if watch is not None else 0.0
            if pending or applying:
                state.state = "stale"
                state.note = "changes are being applied; answers come from the last commit"
            if last_error:
                state.note = f"last update failed: {last_error}"
        return state

    # ---- answering -----------------------------------------------------------------------
    def answer(self, query: str, intent: str, run: Callable[[Engine], list[Result]], *, k: int = 10,
               max_tokens: int = DEFAULT_MAX_TOKENS, client: str = "", context: AgentContext | None = None,
               notes: list[str] | None = None, rerank: bool | None = False) -> SearchResponse:
        """Run one strategy and shape its answer. ``rerank``: True or False as the caller asks, None for
        the server's default (``SGMCP_RERANK``), which only the description searches pass: an outline,
        a definition or a list of call sites is never sent to the model unasked."""
        started = time.perf_counter()
        state = self.state()
        if state.state in ("building", "missing"):
            return SearchResponse(query=query, intent=intent, results=[], took_ms=0.0, index=state,
                                  notes=[state.note])
        results = run(self.engine)
        notes = list(notes or [])
        if rerank or (rerank is None and self.rerank_by_default):
            outcome = self.reranker.rerank(query, results)
            results = outcome.results
            notes.append(outcome.note)
        if context is not None:
            results = apply_context(results, context, self.engine.graph, self._seen.get(client, set()))
        results = results[:k]
        kept_response = self.engine.respond(query, intent, results, started, max_tokens, notes, index=state)
        self._answered.set()
        self._remember(client, kept_response.results)
        return kept_response

    def _remember(self, client: str, results: list[Result]) -> None:
        seen = self._seen.setdefault(client, set())
        self._seen.move_to_end(client)
        seen.update((r.path, r.start_line) for r in results)
        if len(seen) > SEEN_PER_CLIENT:
            seen.clear()
        while len(self._seen) > 100:
            self._seen.popitem(last=False)

    def resolve_path(self, path: str) -> str:
        return self.engine.relative_path(path)


__all__ = ["QueryError", "SearchService"]
