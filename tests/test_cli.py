"""The command line as a user runs it: a subprocess, real index, JSON that matches the MCP shape."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "sample_repo"
RESULT_KEYS = {"path", "start_line", "end_line", "symbol", "container", "kind", "language", "score", "snippet"}


def sgmcp(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LANCEDB_LOG": "error", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-m", "sgmcp", *args], capture_output=True, text=True, env=env,
                          timeout=120)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli") / "repo"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns(".sgmcp"))
    summary = json.loads(sgmcp("index", str(root), "--json", "--no-vectors").stdout)
    assert summary["files"] > 20 and summary["symbols"] > 100 and summary["references"] > 300
    return root


def test_index_summary_is_readable(repo: Path) -> None:
    out = sgmcp("index", str(repo), "--no-vectors").stdout
    assert "unchanged" in out and "skipped" in out


def test_index_leaves_a_start_up_copy(repo: Path) -> None:
    """`sgmcp index` writes the graph's start-up copy, so the first server on the index starts fast."""
    from sgmcp import startcache

    loaded = startcache.load(str(repo / ".sgmcp"))
    assert loaded is not None and loaded[0].by_name("slugify")


def test_definition_json(repo: Path) -> None:
    data = json.loads(sgmcp("definition", str(repo), "NoteStore::save", "--json").stdout)
    assert data["intent"] == "find_definition"
    top = data["results"][0]
    assert RESULT_KEYS <= set(top)
    assert (top["path"], top["symbol"], top["container"], top["kind"]) == \
        ("notes/storage.py", "NoteStore.save", "NoteStore", "method")
    assert top["snippet"].lstrip().startswith(str(top["start_line"]))


def test_usages_json_lists_enclosing_definitions(repo: Path) -> None:
    data = json.loads(sgmcp("usages", str(repo), "hash_password", "--json").stdout)
    found = {(r["path"], r["symbol"]) for r in data["results"]}
    assert {("notes/auth.py", "register_user"), ("notes/auth.py", "authenticate_user")} <= found
    assert all(r["line"] >= r["start_line"] for r in data["results"])


def test_search_finds_by_words(repo: Path) -> None:
    data = json.loads(sgmcp("search", str(repo), "markdown table html rows", "--json", "--k", "3").stdout)
    assert data["results"][0]["symbol"] == "table_to_html_rows"


def test_outline_and_status(repo: Path) -> None:
    outline = json.loads(sgmcp("outline", str(repo), "notes/storage.py", "--json").stdout)
    assert "NoteStore" in {r["symbol"] for r in outline["results"]}
    status = json.loads(sgmcp("status", str(repo), "--json").stdout)
    assert status["files"] > 20 and status["state"] == "fresh"


@pytest.mark.parametrize("args, message", [
    (("definition", "/no/such/repo", "x"), "no index"),
    (("outline", "REPO", "../../etc/passwd"), "outside the repository"),
    (("index", "/no/such/dir", "--no-vectors"), "not a directory"),
    (("search", "REPO", "   "), "non-empty"),
])
def test_user_errors_are_one_line(repo: Path, args: tuple[str, ...], message: str) -> None:
    proc = sgmcp(*(str(repo) if a == "REPO" else a for a in args), check=False)
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.integration
def test_semantic_search_with_the_real_encoder(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns(".sgmcp"))
    summary = json.loads(sgmcp("index", str(root), "--json").stdout)
    assert summary["embedded"] == summary["chunks"] > 200
    # Descriptions that share (almost) no words with the code they mean.
    for query, symbol in (("salted password digest", "hash_password"),
                          ("start a new log file once the current one grows too big", "rotate_log_if_needed")):
        data = json.loads(sgmcp("search", str(root), query, "--json", "--k", "3").stdout)
        assert data["results"][0]["symbol"] == symbol, (query, data["results"][0]["symbol"])
    again = json.loads(sgmcp("index", str(root), "--json").stdout)
    assert again["embedded"] == 0  # nothing changed, nothing re-embedded
