"""Compaction off the watcher's hot path: the path indexes, compaction put off and run when the
repository is quiet, and a compaction killed before its commit leaves the committed state readable."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest

import indexer.store as store_module
from indexer.pipeline import index_repository, maintain_index
from indexer.store import DATA_TABLES, IndexStore
from indexer.watch import Watcher


def _repo(tmp_path: Path, n: int = 6) -> Path:
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    for i in range(n):
        (root / "pkg" / f"m{i}.py").write_text(f"import os\n\ndef f{i}(x):\n    return g{i}(x)\n")
    return root


def _symbols(ix: str) -> set[tuple[str, str]]:
    rows = IndexStore(ix).snapshot().arrow("symbols", ["path", "qualname"]).to_pylist()
    return {(r["path"], r["qualname"]) for r in rows}


def _edit(root: Path, i: int) -> str:
    path = root / "pkg" / f"m{i % 6}.py"
    with open(path, "a") as fh:
        fh.write(f"\ndef edit_{i}():\n    pass\n")
    return path.relative_to(root).as_posix()


def test_every_table_has_a_path_index(tmp_path: Path) -> None:
    root, ix = _repo(tmp_path), str(tmp_path / "ix")
    index_repository(root, ix)
    store = IndexStore(ix)
    for name in DATA_TABLES:
        assert "path" in {i.columns[0] for i in store._table(name).list_indices()}, name


@pytest.mark.parametrize("limit", [20, 10_000])
def test_a_large_rewrite_is_compacted_into_the_full_text_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               limit: int) -> None:
    """Rows outside the full-text index make every BM25 query scan them (~20 us a row): once more than
    UNINDEXED_MAX chunk rows were rewritten, the writer compacts them into it."""
    from indexer.store import _unindexed

    monkeypatch.setattr(store_module, "UNINDEXED_MAX", limit)
    root, ix = _repo(tmp_path, 40), str(tmp_path / "ix")
    index_repository(root, ix)
    for i in range(40):  # every file changes: every chunk row is new
        (root / "pkg" / f"m{i}.py").write_text(f"import sys\n\ndef h{i}(y):\n    return k{i}(y)\n")
    index_repository(root, ix)
    unindexed = _unindexed(IndexStore(ix)._table("chunks"))
    assert (unindexed == 0) if limit == 20 else (unindexed >= 40)
    if limit > 20:  # a later run with nothing to write still compacts what the earlier one left outside
        monkeypatch.setattr(store_module, "UNINDEXED_MAX", 20)
        index_repository(root, ix)
        assert _unindexed(IndexStore(ix)._table("chunks")) == 0


def test_batches_put_compaction_off_until_due(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "OPTIMIZE_EVERY", 3)
    monkeypatch.setattr(store_module, "OPTIMIZE_DEFER_MAX", 6)
    root, ix = _repo(tmp_path), str(tmp_path / "ix")
    index_repository(root, ix)
    start = IndexStore(ix).last_commit().seq
    for i in range(4):  # past OPTIMIZE_EVERY, short of OPTIMIZE_DEFER_MAX: nothing compacted
        index_repository(root, ix, paths=[_edit(root, i)], optimize=False)
    notes = [c.note for c in IndexStore(ix)._commits() if c.seq > start]
    assert "maintain" not in notes and len(notes) == 4
    assert maintain_index(root, ix)  # due: runs, and the log restarts at its commit
    log = IndexStore(ix)._commits()
    assert [c.note for c in log] == ["maintain"]
    assert not maintain_index(root, ix)  # not due again
    for i in range(4, 11):  # a long burst: compaction is not put off past OPTIMIZE_DEFER_MAX
        index_repository(root, ix, paths=[_edit(root, i)], optimize=False)
    assert "maintain" in [c.note for c in IndexStore(ix)._commits()]
    assert ("pkg/m4.py", "edit_10") in _symbols(ix)


def test_watcher_compacts_when_quiet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "OPTIMIZE_EVERY", 3)
    root, ix = _repo(tmp_path), str(tmp_path / "ix")
    index_repository(root, ix)
    with Watcher(root, ix, reconcile_first=False, idle_maintain=0.5) as watcher:
        for i in range(4):
            _edit(root, i)
            assert watcher.wait_idle(15)
            time.sleep(0.1)  # quieter than idle_maintain: no compaction between edits
            assert "maintain" not in [c.note for c in IndexStore(ix)._commits()]
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and IndexStore(ix).last_commit().note != "maintain":
            time.sleep(0.1)
        assert IndexStore(ix).last_commit().note == "maintain"
    assert ("pkg/m3.py", "edit_3") in _symbols(ix)


def test_compaction_killed_before_its_commit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Compaction prunes old versions; the committed ones must survive until its commit lands, so
    that a writer dying before that commit leaves an index the next writer can roll back to."""
    monkeypatch.setattr(store_module, "READER_GRACE", timedelta(milliseconds=1))
    root, ix = _repo(tmp_path), str(tmp_path / "ix")
    index_repository(root, ix)
    for i in range(3):
        time.sleep(0.3)
        index_repository(root, ix, paths=[_edit(root, i)], optimize=False)
    before = _symbols(ix)
    committed = IndexStore(ix).last_commit()
    versions_before = {name: len(IndexStore(ix)._table(name).list_versions()) for name in DATA_TABLES}

    real_commit = IndexStore._commit

    def dying_commit(self, seq, versions, note, paths=()):
        if note == "maintain":
            raise KeyboardInterrupt("killed before the compaction's commit")
        return real_commit(self, seq, versions, note, paths)

    writer = IndexStore(ix)
    writer.prepare_writer()
    monkeypatch.setattr(IndexStore, "_commit", dying_commit)
    with pytest.raises(KeyboardInterrupt):
        writer.maintain(force=True)
    monkeypatch.setattr(IndexStore, "_commit", real_commit)

    reader = IndexStore(ix)
    assert reader.last_commit() == committed
    assert _symbols(ix) == before  # readers still open the committed versions
    repaired = IndexStore(ix)
    assert repaired.prepare_writer() == committed
    assert any("rolled back" in note for note in repaired.notes)
    index_repository(root, ix, paths=[_edit(root, 3)])
    assert _symbols(ix) == before | {("pkg/m3.py", "edit_3")}
    assert maintain_index(root, ix, force=True)  # READER_GRACE 0: only the newest versions stay
    after = {name: len(IndexStore(ix)._table(name).list_versions()) for name in DATA_TABLES}
    assert sum(after.values()) < sum(versions_before.values())
    assert IndexStore(ix).prepare_writer() is not None and _symbols(ix) == before | {("pkg/m3.py", "edit_3")}
