"""File discovery: ignore files with git's precedence, skip reasons, and odd filesystem entries."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from indexer.discover import DEFAULT_MAX_FILE_BYTES, FileEntry, content_skip_reason, discover


def _tree(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def _paths(root: Path, **kwargs: int) -> set[str]:
    return {f.path for f in discover(root, **kwargs).files}


# ---- ignore files ------------------------------------------------------------------------------

def test_nested_gitignores_negation_and_deeper_override(tmp_path: Path) -> None:
    _tree(tmp_path, {
        ".gitignore": "*.log\n!keep.log\n/only_root.txt\n",
        "a.log": "", "keep.log": "", "only_root.txt": "", "main.py": "",
        # a deeper file re-ignores what its parent re-included, and anchors to its own directory
        "sub/.gitignore": "keep.log\n/local.txt\n",
        "sub/keep.log": "", "sub/other.log": "", "sub/local.txt": "", "sub/only_root.txt": "",
        # a deeper one still re-includes every log below it
        "sub/deep/.gitignore": "!*.log\n",
        "sub/deep/keep.log": "", "sub/deep/x.log": "", "sub/deep/local.txt": "",
        # a sibling directory only sees the root rules
        "other/keep.log": "", "other/b.log": "",
    })
    assert _paths(tmp_path) == {
        "keep.log", "main.py",
        "sub/only_root.txt",
        "sub/deep/keep.log", "sub/deep/x.log", "sub/deep/local.txt",
        "other/keep.log",
    }


def test_within_one_file_the_last_matching_pattern_wins(tmp_path: Path) -> None:
    _tree(tmp_path, {
        ".gitignore": "!a.txt\n*.txt\n!b.txt\n",
        "a.txt": "", "b.txt": "", "c.txt": "",
    })
    assert _paths(tmp_path) == {"b.txt"}


def test_directory_patterns(tmp_path: Path) -> None:
    _tree(tmp_path, {
        ".gitignore": "build/\ndocs/*.md\n!build/keep.py\n",
        "build/out.py": "",
        "build/keep.py": "",  # git cannot re-include a file whose directory is excluded
        "pkg/build/gen.py": "",  # unanchored: a build/ directory at any depth
        "pkg/mod.py": "",
        "notdir/build": "a file named build is not a directory",
        "docs/a.md": "", "docs/a.py": "",
        "x/docs/a.md": "",  # a pattern with an inner slash is anchored to its .gitignore
    })
    assert _paths(tmp_path) == {"pkg/mod.py", "notdir/build", "docs/a.py", "x/docs/a.md"}


def test_reinclude_a_subdirectory_of_an_ignored_directorys_contents(tmp_path: Path) -> None:
    # the usual idiom: ignore a directory's contents, keep one subdirectory
    _tree(tmp_path, {
        ".gitignore": "logs/*\n!logs/keep/\n",
        "logs/x.txt": "", "logs/other/y.txt": "", "logs/keep/z.txt": "",
    })
    assert _paths(tmp_path) == {"logs/keep/z.txt"}


def test_deeper_gitignore_reincludes_a_directory(tmp_path: Path) -> None:
    _tree(tmp_path, {
        ".gitignore": "build/\n",
        "build/a.py": "",
        "sub/.gitignore": "!build/\n",
        "sub/build/b.py": "",
    })
    assert _paths(tmp_path) == {"sub/build/b.py"}


def test_gitignore_with_crlf_line_endings(tmp_path: Path) -> None:
    _tree(tmp_path, {".gitignore": "*.tmp\r\nout/\r\n", "a.tmp": "", "out/b.py": "", "c.py": ""})
    assert _paths(tmp_path) == {"c.py"}


def test_git_info_exclude(tmp_path: Path) -> None:
    _tree(tmp_path, {
        ".git/info/exclude": "# local excludes\nsecret.txt\nscratch/\n",
        ".git/HEAD": "ref: refs/heads/main\n",
        "secret.txt": "", "scratch/s.py": "", "app.py": "",
        # .gitignore files take precedence over info/exclude, as in git
        "sub/.gitignore": "!secret.txt\n",
        "sub/secret.txt": "",
    })
    assert _paths(tmp_path) == {"app.py", "sub/secret.txt"}


def test_sgmcpignore(tmp_path: Path) -> None:
    _tree(tmp_path, {
        ".sgmcpignore": "fixtures/\n*.csv\n",
        "fixtures/big.py": "", "data.csv": "", "nested/more.csv": "", "app.py": "",
    })
    found = discover(tmp_path)
    assert {f.path for f in found.files} == {"app.py"}
    # ignore files are never indexed themselves, and ignored paths are not "skipped" noise
    assert found.skipped == []


def test_ignore_files_and_tool_directories_are_not_listed(tmp_path: Path) -> None:
    _tree(tmp_path, {
        ".gitignore": "", ".sgmcpignore": "", "sub/.gitignore": "",
        ".git/config": "", ".sgmcp/x.lance": "", "__pycache__/m.cpython-311.pyc": "",
        ".venv/lib/site.py": "", ".mypy_cache/x.json": "", "pkg/__pycache__/y.py": "",
        "app.py": "",
    })
    found = discover(tmp_path)
    assert {f.path for f in found.files} == {"app.py"}
    assert found.skipped == []


# ---- skip reasons by name and size ----------------------------------------------------------

def test_vendored_directories_are_reported(tmp_path: Path) -> None:
    _tree(tmp_path, {
        "node_modules/left-pad/index.js": "",
        "vendor/github.com/x/y.go": "",
        "third_party/lib.c": "",
        "web/node_modules/react/index.js": "",
        "src/app.py": "",
    })
    found = discover(tmp_path)
    assert {f.path for f in found.files} == {"src/app.py"}
    assert sorted(found.skipped) == [
        ("node_modules/", "vendored"),
        ("third_party/", "vendored"),
        ("vendor/", "vendored"),
        ("web/node_modules/", "vendored"),
    ]
    assert found.skipped_by_reason == {"vendored": 4}


def test_name_based_skips(tmp_path: Path) -> None:
    _tree(tmp_path, {
        "package-lock.json": "{}", "Cargo.lock": "", "yarn.lock": "", "poetry.lock": "", "go.sum": "",
        "custom.lock": "",
        "static/app.min.js": "", "static/site.min.css": "", "static/app.bundle.js": "",
        "proto/x_pb2.py": "", "proto/x_pb2_grpc.py": "", "proto/x_pb2.pyi": "", "api/x.pb.go": "",
        "img/logo.png": b"\x89PNG", "model.safetensors": b"",
        "src/app.js": "", "src/x_pb.py": "", "package.json": "{}",
    })
    found = discover(tmp_path)
    assert {f.path for f in found.files} == {"src/app.js", "src/x_pb.py", "package.json"}
    assert dict(found.skipped) == {
        "package-lock.json": "lock file", "Cargo.lock": "lock file", "yarn.lock": "lock file",
        "poetry.lock": "lock file", "go.sum": "lock file", "custom.lock": "lock file",
        "static/app.min.js": "minified", "static/site.min.css": "minified", "static/app.bundle.js": "minified",
        "proto/x_pb2.py": "generated", "proto/x_pb2_grpc.py": "generated", "proto/x_pb2.pyi": "generated",
        "api/x.pb.go": "generated",
        "img/logo.png": "binary", "model.safetensors": "binary",
    }


def test_files_over_the_size_limit(tmp_path: Path) -> None:
    _tree(tmp_path, {"big.py": "x" * 101, "edge.py": "x" * 100, "small.py": "x"})
    found = discover(tmp_path, max_file_bytes=100)
    assert {f.path for f in found.files} == {"edge.py", "small.py"}
    assert found.skipped == [("big.py", "larger than 100 bytes")]
    assert DEFAULT_MAX_FILE_BYTES == 1 << 20
    from sgmcp.cli import _build_parser  # the command line's default, written out there to import less

    for command in (["index", "x"], ["index-many", "x"]):
        assert _build_parser().parse_args(command).max_file_bytes == DEFAULT_MAX_FILE_BYTES


def test_file_entries_carry_size_and_mtime(tmp_path: Path) -> None:
    _tree(tmp_path, {"a/b.py": "print(1)\n"})
    os.utime(tmp_path / "a/b.py", ns=(1_000_000_000, 1_234_567_890_123))
    [entry] = discover(tmp_path).files
    assert entry == FileEntry("a/b.py", 9, 1_234_567_890_123)


def test_relative_root_gives_root_relative_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _tree(tmp_path, {"repo/pkg/m.py": ""})
    monkeypatch.chdir(tmp_path)
    assert _paths(Path("repo")) == {"pkg/m.py"}


# ---- filesystem oddities --------------------------------------------------------------------

def test_symlink_to_a_file_outside_the_root(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    _tree(tmp_path, {"outside/secret.py": "KEY = 1\n", "repo/app.py": ""})
    (root / "leak.py").symlink_to(tmp_path / "outside" / "secret.py")
    found = discover(root)
    assert {f.path for f in found.files} == {"app.py"}
    assert found.skipped == [("leak.py", "symlink out of the root (not followed)")]


def test_symlinks_inside_the_root_and_broken_ones(tmp_path: Path) -> None:
    _tree(tmp_path, {"real.py": ""})
    (tmp_path / "alias.py").symlink_to("real.py")
    (tmp_path / "dangling.py").symlink_to("missing.py")
    (tmp_path / "loop_a").symlink_to("loop_b")
    (tmp_path / "loop_b").symlink_to("loop_a")
    found = discover(tmp_path)
    assert {f.path for f in found.files} == {"real.py"}
    assert dict(found.skipped) == {
        "alias.py": "symlink (its target is indexed in place)",
        "dangling.py": "broken or looping symlink",
        "loop_a": "broken or looping symlink",
        "loop_b": "broken or looping symlink",
    }


def test_directory_symlink_loop_is_not_followed(tmp_path: Path) -> None:
    _tree(tmp_path, {"sub/m.py": ""})
    (tmp_path / "sub" / "up").symlink_to("..", target_is_directory=True)
    (tmp_path / "self").symlink_to(".", target_is_directory=True)
    found = discover(tmp_path)  # must return, not recurse forever
    assert {f.path for f in found.files} == {"sub/m.py"}
    assert dict(found.skipped) == {
        "self": "symlink to a directory (not followed)",
        "sub/up": "symlink to a directory (not followed)",
    }


def test_undecodable_file_name(tmp_path: Path) -> None:
    _tree(tmp_path, {"good.py": ""})
    fd = os.open(os.fsencode(tmp_path) + b"/bad\xff.py", os.O_CREAT | os.O_WRONLY, 0o644)
    os.close(fd)
    os.mkdir(os.fsencode(tmp_path) + b"/dir\xfe")
    fd = os.open(os.fsencode(tmp_path) + b"/dir\xfe/inner.py", os.O_CREAT | os.O_WRONLY, 0o644)
    os.close(fd)
    found = discover(tmp_path)
    assert {f.path for f in found.files} == {"good.py"}
    assert sorted(reason for _, reason in found.skipped) == ["undecodable file name"] * 2
    for path, _ in found.skipped:
        path.encode("utf-8")  # reported paths are always valid text
    assert {p.split("\\")[0] for p, _ in found.skipped} == {"bad", "dir"}


def test_fifo_is_not_a_regular_file(tmp_path: Path) -> None:
    _tree(tmp_path, {"app.py": ""})
    os.mkfifo(tmp_path / "pipe")
    found = discover(tmp_path)  # must not block opening the FIFO
    assert {f.path for f in found.files} == {"app.py"}
    assert found.skipped == [("pipe", "not a regular file")]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can read any directory")
def test_unreadable_directory(tmp_path: Path) -> None:
    _tree(tmp_path, {"locked/a.py": "", "open.py": ""})
    (tmp_path / "locked").chmod(0)
    try:
        found = discover(tmp_path)
    finally:
        (tmp_path / "locked").chmod(0o755)
    assert {f.path for f in found.files} == {"open.py"}
    assert found.skipped == [("locked", "unreadable: Permission denied")]


def test_walk_errors_are_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same as an unreadable directory, simulated so that it also runs as root."""
    _tree(tmp_path, {"locked/a.py": "", "open.py": ""})
    locked = str((tmp_path / "locked").resolve())
    real_scandir = os.scandir

    def scandir(path: object = ".") -> object:
        if os.fspath(path) == locked:  # type: ignore[arg-type]
            raise PermissionError(13, "Permission denied", locked)
        return real_scandir(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", scandir)
    found = discover(tmp_path)
    assert {f.path for f in found.files} == {"open.py"}
    assert found.skipped == [("locked", "unreadable: Permission denied")]


# ---- content checks -----------------------------------------------------------------------

def test_content_binary() -> None:
    assert content_skip_reason("a.py", b"print(1)\n\x00\x01\x02") == "binary"
    assert content_skip_reason("a.dat", b"\x00" * 10) == "binary"


def test_content_minified() -> None:
    one_line = b"var a=1;" * 3750  # 30 kB on one line
    assert len(one_line) == 30000
    assert content_skip_reason("app.js", one_line) == "minified"
    # very long lines even with a few line breaks
    assert content_skip_reason("app.js", b"\n".join([b"x" * 10000] * 5)) == "minified"


def test_content_generated_marker() -> None:
    go = b"// Code generated by protoc-gen-go. DO NOT EDIT.\n// source: x.proto\n\npackage x\n"
    assert content_skip_reason("x.go", go) == "generated"
    assert content_skip_reason("y.py", b"# @generated by tool\nX = 1\n") == "generated"
    # a marker far into the body is ordinary text, not a header
    late = b"x = 1\n" * 400 + b"# DO NOT EDIT below\n"
    assert content_skip_reason("z.py", late) is None


def test_content_ordinary_source_is_kept() -> None:
    assert content_skip_reason("a.py", b"") is None
    assert content_skip_reason("a.py", b"def f():\n    return 1\n") is None
    # a large file of normal-length lines is neither minified nor binary
    big = b"".join(b"value_%05d = compute(%d)  # a comment\n" % (i, i) for i in range(1500))
    assert len(big) > 20000
    assert content_skip_reason("big.py", big) is None
    # UTF-8 text is not binary
    assert content_skip_reason("u.py", "s = 'café ✓'\n".encode()) is None
