"""The start-up copy of the graph: answers symbol queries without opening the index, and is never
used once the index has moved on."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from indexer.graph import Graph
from indexer.pipeline import index_repository
from sgmcp import startcache
from sgmcp.engine import Engine

from test_engine import _view  # tests/ is on sys.path (no package)

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "sample_repo"


def _indexed(tmp_path: Path) -> tuple[Path, str]:
    root = tmp_path / "repo"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns(".sgmcp"))
    ix = str(tmp_path / "ix")
    index_repository(root, ix)
    return root, ix


def test_copy_answers_without_opening_the_index(tmp_path: Path) -> None:
    root, ix = _indexed(tmp_path)
    assert not Engine(root, ix).start_from_cache()  # nothing written yet
    Engine(root, ix).save_start_cache()

    engine = Engine(root, ix)
    assert engine.start_from_cache()
    assert engine.find_definition("NoteStore.save")[0].path == "notes/storage.py"
    assert {r.symbol for r in engine.find_usages("hash_password")}
    state = engine.state()
    assert state.state == "fresh" and state.symbols == len(engine.graph.symbols) and state.chunks > 0
    assert engine._store is None  # answered from the copy alone
    assert _view(engine.graph) == _view(Graph(Engine(root, ix).snapshot))

    graph = engine.graph
    engine.refresh()  # the index opens: the copy is this commit's graph, kept as it is
    assert engine.graph is graph and engine.cached_state() is None


def test_copy_is_ignored_after_a_commit(tmp_path: Path) -> None:
    root, ix = _indexed(tmp_path)
    Engine(root, ix).save_start_cache()
    markdown = root / "notes" / "markdown.py"
    markdown.write_text(markdown.read_text().replace("def slugify(", "def make_slug("))
    index_repository(root, ix, paths=["notes/markdown.py"])

    engine = Engine(root, ix)
    assert not engine.start_from_cache()
    assert engine.find_definition("make_slug")[0].path == "notes/markdown.py"
    engine.save_start_cache()  # rewritten for the new commit; the old key's files are gone
    assert Engine(root, ix).start_from_cache()
    assert len({p.name.split(".")[0] for p in Path(ix).glob("startcache-*.arrow")}) == 1


def test_broken_or_foreign_copy_falls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, ix = _indexed(tmp_path)
    Engine(root, ix).save_start_cache()
    assert startcache.load(ix) is not None
    with monkeypatch.context() as m:
        m.setattr(startcache, "SCHEMA_VERSION", startcache.SCHEMA_VERSION + 1)  # sgmcp upgraded since
        assert startcache.load(ix) is None
    for f in Path(ix).glob("startcache-*.symbols.arrow"):
        f.write_bytes(b"not arrow")
    engine = Engine(root, ix)
    assert not engine.start_from_cache()
    assert engine.find_definition("NoteStore.save")[0].path == "notes/storage.py"
    (Path(ix) / startcache.POINTER).write_text("{")
    assert startcache.load(ix) is None
    assert startcache.load("s3://bucket/ix") is None  # remote indexes are always opened
