"""The server's state object, without the MCP layer: what its watcher leaves ready for the next query."""

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
