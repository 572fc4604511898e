"""The server's state object, without the MCP layer: what its watcher leaves ready for the next query, and
which answers the server's rerank default applies to."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import wait_until

from indexer.pipeline import index_repository
from indexer.store import IndexStore
from sgmcp.service import SearchService


def test_the_watchers_commit_is_loaded_before_the_next_query(tmp_path: Path) -> None:
    """After a watched edit lands, the engine is already at the new commit with its graph and chunk cache
    built: the next query does not pay for them (the cache alone is ~0.4 s at 120k chunks)."""
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "a.py").write_text("def alpha():\n    return 1\n")
    ix = str(tmp_path / "ix")
    index_repository(root, ix)
    service = SearchService(root, ix, watch=True)
    try:
        assert wait_until(lambda: service.watcher is not None)  # made and started by the warm-up
        assert service.watcher.wait_idle()
        (root / "pkg" / "b.py").write_text("def beta():\n    return 2\n")
        store = IndexStore(ix)
        assert wait_until(lambda: (store.last_commit().seq if store.last_commit() else 0) > 1, 20.0)
        assert service.watcher.wait_idle()
        engine = service.engine
        assert engine._snapshot is not None and engine._snapshot.commit.seq == store.last_commit().seq
        assert engine._graph is not None and engine._chunks is not None
        assert [r.symbol for r in engine.find_definition("beta")] == ["beta"]
    finally:
        service.close()
        shutil.rmtree(tmp_path / "repo", ignore_errors=True)


def test_the_servers_rerank_default_covers_description_searches_only(sample_index, fake_messages, monkeypatch) -> None:
    """With SGMCP_RERANK set, a description search goes to the model unless the caller says no; an outline,
    a definition or call sites never go unasked."""
    monkeypatch.setenv("SGMCP_RERANK", "1")
    repo, ix = sample_index
    service = SearchService(repo, ix, watch=False)
    try:
        def ask(run, rerank=False):
            before = len(fake_messages.requests)
            response = service.answer("q", "find_implementation", run, rerank=rerank)
            return len(fake_messages.requests) - before, response.notes

        asked, notes = ask(lambda e: e.semantic_search("hash a password", 5), rerank=None)
        assert asked == 1 and any("rerank" in n for n in notes)
        assert ask(lambda e: e.semantic_search("hash a password", 5), rerank=False)[0] == 0
        assert ask(lambda e: e.outline("notes/auth.py"))[0] == 0
        assert ask(lambda e: e.find_usages("hash_password"))[0] == 0
    finally:
        service.close()
