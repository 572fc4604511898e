"""Hostile repositories: every kind of bad input at once, and the index run still completes.

Each bad file is either skipped with a reason in ``skipped_files`` or indexed with its syntax errors
counted; the good files around them are indexed and queries answer."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

import indexer.pipeline as pipeline
from indexer.parser import MAX_DEFINITION_DEPTH
from indexer.pipeline import index_repository
from indexer.store import IndexStore
from sgmcp.engine import Engine

GOOD = {
    "good/alpha.py": "def alpha_function(x):\n    return x + 1\n\n\nclass AlphaThing:\n    def run(self):\n"
                     "        return alpha_function(2)\n",
    "good/beta.js": "export function betaHelper(a, b) {\n  return a + b;\n}\n",
    "good/it's a \"quoted\" \\ name.py": "def quoted_name_function():\n    return 'q'\n",
    "good/new\nline.py": "def newline_name_function():\n    return 1\n",
}


def _write(root: Path, rel: str, data: str | bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data)
    else:
        path.write_bytes(data)
    return path


def _hostile_repo(root: Path) -> dict[str, str]:
    """Build the repository; returns {path: what the index must do with it} for the bad files."""
    for rel, text in GOOD.items():
        _write(root, rel, text)
    expect: dict[str, str] = {}

    # Binary content behind a source extension, and a binary extension.
    _write(root, "bad/blob.py", b"\x00\x01\x02\xff" * 300)
    expect["bad/blob.py"] = "binary"
    _write(root, "bad/image.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    expect["bad/image.png"] = "binary"

    # 50 MB, sparse: costs nothing on disk, must be skipped by size without being read.
    with open(root / "bad" / "huge.py", "wb") as fh:
        fh.truncate(50 * 1024 * 1024)
    expect["bad/huge.py"] = "larger than"

    # 100k-character lines: alone in a file (minified), and inside an otherwise normal file.
    _write(root, "bad/oneline.py", "x = '" + "a" * 100_000 + "'\n")
    expect["bad/oneline.py"] = "minified"
    _write(root, "bad/oneline.js", "var s = \"" + "b" * 100_000 + "\";\n")
    expect["bad/oneline.js"] = "minified"
    long_line = "".join(f"def long_line_neighbour_{i}():\n    return {i}\n\n" for i in range(150))
    _write(root, "bad/longline.py", long_line + "BIG = '" + "c" * 100_000 + "'\n")
    expect["bad/longline.py"] = "indexed"

    # Nesting deep enough to exhaust any recursive walker (Python's limit is 1000).
    # (One nesting level per line: on a single line the file would be skipped as minified.)
    _write(root, "bad/deep_lists.py", "x = " + "[\n" * 5000 + "]\n" * 5000
           + "y = " + "f(\n" * 5000 + ")\n" * 5000 + "def after_deep_lists():\n    return 1\n")
    expect["bad/deep_lists.py"] = "indexed"
    _write(root, "bad/deep_braces.js", "let o = " + "{a:" * 5000 + "1" + "}" * 5000 + ";\n"
           + "{\n" * 5000 + "}\n" * 5000 + "function afterDeepBraces() { return 1; }\n")
    expect["bad/deep_braces.js"] = "indexed"
    # 5000 nested functions (100 KB): every line would sit in 5000 chunks (gigabytes of text).
    _write(root, "bad/deep_functions.js",
           "".join(f"function nest{i}() {{\n" for i in range(5000)) + "}\n" * 5000)
    expect["bad/deep_functions.js"] = "parse failed"
    # Nested defs, one space of indentation per level (the indentation alone is quadratic).
    _write(root, "bad/deep_defs.py",
           "".join(" " * i + f"def d{i}():\n" for i in range(600)) + " " * 600 + "pass\n")
    expect["bad/deep_defs.py"] = "parse failed"

    # Syntax errors: indexed, with the error counted; the definitions around them survive.
    _write(root, "bad/broken.py", "def half(:\n    return (\n\ndef after_broken():\n    pass\n")
    expect["bad/broken.py"] = "syntax"
    _write(root, "bad/broken.js", "function ok() { return 1 }\nfunction (((( {\n")
    expect["bad/broken.js"] = "syntax"

    # Invalid UTF-8 inside a source file.
    _write(root, "bad/latin1.py", b"# caf\xe9 \xff\xfe\ndef latin_function():\n    return '\xe9\xc3\x28'\n")
    expect["bad/latin1.py"] = "indexed"

    # A file name that is not UTF-8.
    fd = os.open(os.fsencode(root / "bad") + b"/caf\xe9\xff.py", os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, b"def undecodable_name():\n    pass\n")
    os.close(fd)
    # Reported with the undecodable bytes escaped, so that the report itself is valid UTF-8.
    expect["bad/" + os.fsdecode(b"caf\xe9\xff.py").encode("utf-8", "backslashreplace").decode()] = \
        "undecodable file name"

    # Symlinks: a directory loop, a self loop, out of the root (file and directory), dangling.
    os.symlink("..", root / "bad" / "loop")
    expect["bad/loop"] = "symlink to a directory"
    os.symlink("selfloop.py", root / "bad" / "selfloop.py")
    expect["bad/selfloop.py"] = "broken or looping symlink"
    os.symlink("/etc/passwd", root / "bad" / "passwd.py")
    expect["bad/passwd.py"] = "symlink out of the root"
    os.symlink("/etc", root / "bad" / "etc")
    expect["bad/etc"] = "symlink to a directory"
    os.symlink("does/not/exist.py", root / "bad" / "dangling.py")
    expect["bad/dangling.py"] = "broken or looping symlink"

    # Not a regular file.
    os.mkfifo(root / "bad" / "fifo.py")
    expect["bad/fifo.py"] = "not a regular file"

    # Unreadable (chmod 000; as root, simulated in the test) and deleted between discovery and read.
    _write(root, "bad/secret.py", "def unreadable_function():\n    pass\n").chmod(0)
    expect["bad/secret.py"] = "unreadable"
    _write(root, "bad/vanishing.py", "def vanishing_function():\n    pass\n")
    expect["bad/vanishing.py"] = "unreadable"
    return expect


def test_hostile_repository_indexes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, ix = tmp_path / "repo", str(tmp_path / "ix")
    expect = _hostile_repo(root)

    real = pipeline._read_and_parse

    def hostile_read(root_str: str, entry, known_digest):
        if entry.path == "bad/vanishing.py":
            os.unlink(Path(root_str) / entry.path)  # deleted after discovery, before the read
        if entry.path == "bad/secret.py" and os.geteuid() == 0:  # root reads anything: simulate EACCES
            original = Path.read_bytes

            def denied(self: Path) -> bytes:
                if self.name == "secret.py":
                    raise PermissionError(13, "Permission denied", str(self))
                return original(self)

            with monkeypatch.context() as m:
                m.setattr(Path, "read_bytes", denied)
                return real(root_str, entry, known_digest)
        return real(root_str, entry, known_digest)

    monkeypatch.setattr(pipeline, "_read_and_parse", hostile_read)
    started = time.monotonic()
    summary = index_repository(root, ix, workers=1)  # in-process, so the patch applies
    took = time.monotonic() - started
    assert took < 20, f"hostile repository took {took:.1f}s"

    skipped = dict(summary.skipped_files)
    indexed = {r["path"]: r for r in IndexStore(ix).snapshot().arrow("files").to_pylist()}
    for path, what in expect.items():
        if what == "indexed":
            assert path in indexed and not indexed[path]["skipped"], path
            assert path not in skipped, (path, skipped.get(path))
        elif what == "syntax":
            assert path in indexed and indexed[path]["syntax_errors"], path
        else:
            assert path in skipped, (path, sorted(skipped))
            assert skipped[path].startswith(what), (path, skipped[path])
    assert "nested more than" in skipped["bad/deep_functions.js"]
    assert summary.syntax_errors >= 2
    assert summary.skipped.get("binary", 0) >= 2 and summary.skipped.get("unreadable", 0) == 2
    for rel in GOOD:
        assert rel in indexed and not indexed[rel]["skipped"], rel
    # Nothing from outside the root, nothing followed through a link.
    assert not any(p.startswith(("bad/loop/", "bad/etc/", "/")) or ".." in p.split("/") for p in indexed)
    assert "bad/passwd.py" not in indexed
    files_paths = set(indexed)
    snap = IndexStore(ix).snapshot()
    for table in ("chunks", "symbols", "refs", "imports"):
        assert set(snap.arrow(table, ["path"]).column("path").to_pylist()) <= files_paths, table

    engine = Engine(root, ix)
    for name, path in (("alpha_function", "good/alpha.py"), ("betaHelper", "good/beta.js"),
                       ("quoted_name_function", "good/it's a \"quoted\" \\ name.py"),
                       ("newline_name_function", "good/new\nline.py"),
                       ("after_broken", "bad/broken.py"), ("latin_function", "bad/latin1.py"),
                       ("after_deep_lists", "bad/deep_lists.py"), ("afterDeepBraces", "bad/deep_braces.js"),
                       ("long_line_neighbour_7", "bad/longline.py")):
        hits = engine.find_definition(name)
        assert hits and hits[0].path == path and hits[0].start_line >= 1, (name, hits[:1])
    assert engine.lexical_search("alpha function")[0].path == "good/alpha.py"
    assert not any(r.symbol == "undecodable_name" for r in engine.find_definition("undecodable_name"))
    assert not any(r.symbol == "unreadable_function" for r in engine.find_definition("unreadable_function"))

    # The next run: nothing changed but the vanished file; skipped files are reported again, the
    # transiently unreadable one is retried (and now reads, since the patch is gone).
    monkeypatch.setattr(pipeline, "_read_and_parse", real)
    again = index_repository(root, ix, workers=1)
    again_skipped = dict(again.skipped_files)
    assert again_skipped["bad/blob.py"] == "binary" and again_skipped["bad/huge.py"].startswith("larger than")
    assert "bad/deep_functions.js" in again_skipped
    if os.geteuid() == 0:
        assert "bad/secret.py" not in again_skipped
        assert Engine(root, ix).find_definition("unreadable_function")[0].path == "bad/secret.py"
    assert again.files == summary.files + (1 if os.geteuid() == 0 else 0)


def test_file_gone_between_watcher_event_and_read(tmp_path: Path) -> None:
    """``paths=`` naming files that do not exist (any more), or never could: nothing breaks."""
    root, ix = tmp_path / "repo", str(tmp_path / "ix")
    _write(root, "a.py", "def a_function():\n    pass\n")
    _write(root, "b.py", "def b_function():\n    pass\n")
    index_repository(root, ix)
    (root / "b.py").unlink()
    step = index_repository(root, ix, paths=["b.py", "missing.py", "no/such/dir", "../../etc/passwd",
                                             "/etc/passwd", "a.py/..", "", "\x00"])
    assert step.deleted == 1
    names = {r["qualname"] for r in IndexStore(ix).snapshot().arrow("symbols").to_pylist()}
    assert names == {"a_function"}


def test_definition_depth_limit_is_generous() -> None:
    """Real code nests definitions a few levels; the limit only stops pathological files."""
    from indexer.parser import parse_file

    depth = MAX_DEFINITION_DEPTH
    source = "".join("    " * i + f"def level{i}():\n" for i in range(depth)) + "    " * depth + "pass\n"
    parsed = parse_file("ok.py", source.encode())
    assert len(parsed.definitions) == depth
    with pytest.raises(ValueError, match="nested more than"):
        deeper = "".join("    " * i + f"def level{i}():\n" for i in range(depth + 1)) + "    " * (depth + 1) + "pass\n"
        parse_file("deep.py", deeper.encode())
