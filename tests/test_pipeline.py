"""Incremental indexing, crash repair and schema changes, on real LanceDB tables on disk."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pytest

from indexer.pipeline import index_repository
from indexer.store import SCHEMA_VERSION, IndexStore

MODULE = '''"""Utilities {n}."""


def add_{n}(a, b):
    """Sum two numbers."""
    return helper_{n}(a) + b


def helper_{n}(x):
    return x
'''


def _write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _symbols(index_dir: Path) -> set[tuple[str, str]]:
    rows = IndexStore(str(index_dir)).snapshot().arrow("symbols").to_pylist()
    return {(r["path"], r["qualname"]) for r in rows}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for n in range(3):
        _write(root, f"pkg/mod{n}.py", MODULE.format(n=n))
    _write(root, "src/lib.rs", "/// Doubles.\npub fn double(x: i32) -> i32 { x * 2 }\n")
    return root


def test_incremental_add_modify_delete_rename(repo: Path, tmp_path: Path) -> None:
    ix = tmp_path / "ix"
    first = index_repository(repo, str(ix))
    assert (first.files, first.parsed, first.unchanged) == (4, 4, 0)
    assert ("pkg/mod1.py", "add_1") in _symbols(ix)

    again = index_repository(repo, str(ix))
    assert (again.parsed, again.unchanged, again.deleted) == (0, 4, 0)

    _write(repo, "pkg/mod1.py", MODULE.format(n=1).replace("add_1", "plus_1"))
    _write(repo, "pkg/new.py", "def fresh():\n    return 1\n")
    (repo / "pkg/mod2.py").unlink()
    (repo / "src/lib.rs").rename(repo / "src/core.rs")
    step = index_repository(repo, str(ix))
    assert (step.parsed, step.deleted, step.unchanged) == (3, 2, 1)
    symbols = _symbols(ix)
    assert ("pkg/mod1.py", "plus_1") in symbols and ("pkg/mod1.py", "add_1") not in symbols
    assert ("pkg/new.py", "fresh") in symbols
    assert not any(path == "pkg/mod2.py" for path, _ in symbols)
    assert ("src/core.rs", "double") in symbols and not any(p == "src/lib.rs" for p, _ in symbols)
    refs = IndexStore(str(ix)).snapshot().arrow("refs").to_pylist()
    assert not any(r["path"] in ("pkg/mod2.py", "src/lib.rs") for r in refs)


def test_touched_file_is_not_reparsed(repo: Path, tmp_path: Path) -> None:
    ix = tmp_path / "ix"
    index_repository(repo, str(ix))
    target = repo / "pkg/mod0.py"
    os.utime(target, ns=(time.time_ns(), time.time_ns() + 5_000_000_000))
    step = index_repository(repo, str(ix))
    assert step.parsed == 0 and step.unchanged == 4
    assert index_repository(repo, str(ix)).parsed == 0  # the new mtime was recorded


def test_unfinished_write_is_invisible_and_repaired(repo: Path, tmp_path: Path) -> None:
    ix = tmp_path / "ix"
    index_repository(repo, str(ix))
    before = _symbols(ix)
    # A writer that died after touching a table but before its commit.
    store = IndexStore(str(ix))
    table = store._db.open_table("symbols")
    table.delete("path = 'pkg/mod0.py'")
    table.add(pa.Table.from_pylist([{"id": "ghost", "name": "ghost", "name_lower": "ghost", "qualname": "ghost",
                                     "kind": "function", "path": "pkg/ghost.py", "language": "python",
                                     "start_line": 1, "end_line": 1, "container": "", "signature": "",
                                     "doc": ""}], schema=table.schema))
    assert _symbols(ix) == before  # readers see the last commit only
    step = index_repository(repo, str(ix))
    assert any("repaired symbols" in note for note in step.notes)
    assert _symbols(ix) == before
    assert IndexStore(str(ix))._db.open_table("symbols").count_rows() == len(before)


def test_other_schema_version_is_rebuilt(repo: Path, tmp_path: Path) -> None:
    ix = tmp_path / "ix"
    index_repository(repo, str(ix))
    store = IndexStore(str(ix))
    commits = store._db.open_table("commits")
    commits.update(where="true", values={"schema_version": SCHEMA_VERSION + 99})
    with pytest.raises(RuntimeError, match="schema version"):
        IndexStore(str(ix)).snapshot()
    step = index_repository(repo, str(ix))
    assert any("rebuilding" in note for note in step.notes)
    assert step.parsed == 4 and _symbols(ix)


def test_files_parsed_by_another_parser_version_are_parsed_again(repo: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from test_chunkcache import WordHashEncoder

    from indexer import pipeline

    ix = str(tmp_path / "ix")
    assert index_repository(repo, ix, encoder=WordHashEncoder()).parsed == 4
    monkeypatch.setattr(pipeline, "parser_tag", lambda: "0ther")  # a tags query changed, say
    step = index_repository(repo, ix, encoder=WordHashEncoder())
    assert step.parsed == 4 and step.embedded == 0  # every file again; the unchanged chunks keep their vectors
    assert index_repository(repo, ix, encoder=WordHashEncoder()).parsed == 0


def test_broken_syntax_and_bad_bytes_still_index(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    _write(root, "ok.py", "def fine():\n    return 1\n")
    _write(root, "broken.py", "def half(:\n    return (\n\ndef after():\n    pass\n")
    (root / "latin1.py").write_bytes(b"# caf\xe9\ndef cafe():\n    return '\xe9'\n")
    (root / "blob.py").write_bytes(b"\x00\x01\x02" * 100)
    step = index_repository(root, str(tmp_path / "ix"))
    symbols = {q for _, q in _symbols(tmp_path / "ix")}
    assert {"fine", "after", "cafe"} <= symbols
    assert step.syntax_errors >= 1
    assert ("blob.py", "binary") in step.skipped_files
    again = index_repository(root, str(tmp_path / "ix"))  # the binary is remembered, not read again
    assert again.parsed == 0 and ("blob.py", "binary") in again.skipped_files and again.files == 3


CRASH_SCRIPT = """
import sys
from indexer.pipeline import index_repository
index_repository(sys.argv[1], sys.argv[2])
"""


@pytest.mark.integration
def test_kill_9_mid_index_leaves_a_readable_index(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    for n in range(150):
        _write(root, f"m/mod{n}.py", MODULE.format(n=n) * 8)
    ix = tmp_path / "ix"
    index_repository(root, str(ix))
    expected = _symbols(ix)
    env = {**os.environ, "LANCEDB_LOG": "error"}
    for trial, delay in enumerate((0.15, 0.35, 0.6, 0.9)):
        for n in range(0, 150, 7):  # change a slice of files so that the run has work to do
            _write(root, f"m/mod{n}.py", MODULE.format(n=n) * (8 + trial % 2))
        proc = subprocess.Popen([sys.executable, "-c", CRASH_SCRIPT, str(root), str(ix)], env=env)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert _symbols(ix)  # the last committed index still opens and answers
    index_repository(root, str(ix))
    assert _symbols(ix) == expected  # names are the same after repair; content changed only in body
    fresh = tmp_path / "fresh"
    index_repository(root, str(fresh))
    store_a, store_b = IndexStore(str(ix)).snapshot(), IndexStore(str(fresh)).snapshot()
    for table in ("files", "chunks", "symbols", "refs", "imports"):
        assert store_a.tables[table].count_rows() == store_b.tables[table].count_rows(), table


def test_parallel_parsing_off_the_main_thread_never_forks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Enough files for the process pool, parsed from another thread (as a server's watcher does, while
    queries may be inside LanceDB): the workers must not be forked from this process (LanceDB warns that
    such a child may deadlock); from the main thread (the CLI) fork is fine and kept."""
    import threading
    from concurrent.futures import ProcessPoolExecutor

    from indexer import pipeline

    start_methods: list[str] = []

    class Recording(ProcessPoolExecutor):
        def __init__(self, *args, mp_context, **kwargs) -> None:
            start_methods.append(mp_context.get_start_method())
            super().__init__(*args, mp_context=mp_context, **kwargs)

    monkeypatch.setattr(pipeline, "ProcessPoolExecutor", Recording)
    files = pipeline.PARALLEL_MIN_FILES + 6
    root = tmp_path / "repo"
    root.mkdir()
    for n in range(files):
        (root / f"mod_{n}.py").write_text(MODULE.format(n=n))
    ix = str(tmp_path / "ix")
    index_repository(root, ix, workers=1)  # LanceDB loaded and running
    for n in range(files):
        (root / f"mod_{n}.py").write_text(MODULE.format(n=n) + "\n\ndef extra():\n    pass\n")
    parsed: list[int] = []
    watcher_like = threading.Thread(target=lambda: parsed.append(index_repository(root, ix, workers=2).parsed))
    watcher_like.start()
    watcher_like.join()
    assert parsed == [files] and start_methods == ["forkserver"]
    assert len(IndexStore(ix).snapshot().arrow("symbols", ["qualname"])) == 3 * files


def test_the_packages_public_names_load_on_first_use() -> None:
    """Every name ``indexer`` lists resolves, and importing the package alone loads no parser (a server
    answering from its start-up copy must not pay for it)."""
    import subprocess
    import sys

    import indexer

    assert sorted(indexer.__all__) == sorted(indexer._EXPORTS)
    for name in indexer.__all__:
        assert getattr(indexer, name) is not None
    with pytest.raises(AttributeError):
        indexer.no_such_name  # noqa: B018
    probe = "import sys, indexer, indexer.graph; print('indexer.parser' in sys.modules, 'watchdog' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
