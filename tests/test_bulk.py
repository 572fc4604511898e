"""Bulk indexing (``indexer.bulk``, ``sgmcp index-many``): every backend must build exactly the index a
direct ``index_repository`` call builds, and one broken repository must never sink the others."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from indexer.bulk import BulkJob, BulkResult, bulk_index, index_one, plan_jobs
from indexer.pipeline import index_repository
from indexer.store import IndexStore

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "sample_repo"
# Three small repositories cut from the sample: different languages, so different indexes.
PARTS = {"alpha": ["notes", "tests", "README.md"], "beta": ["rust", "go", "c"], "gamma": ["web", "java", "kotlin"]}

Facts = tuple[int, int, frozenset[str]]


def _facts(uri: str) -> Facts:
    """What must match between a bulk-built index and a direct one: symbol and chunk counts and the
    set of qualified symbol names."""
    snap = IndexStore(uri).snapshot()
    names = frozenset(snap.arrow("symbols", ["qualname"]).column("qualname").to_pylist())
    return snap.tables["symbols"].count_rows(), snap.tables["chunks"].count_rows(), names


@pytest.fixture(scope="module")
def repos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("bulk")
    out = {}
    for name, parts in PARTS.items():
        root = base / name
        root.mkdir()
        for part in parts:
            src = SAMPLE / part
            if src.is_dir():
                shutil.copytree(src, root / part)
            else:
                shutil.copy2(src, root / part)
        out[name] = root
    return out


@pytest.fixture(scope="module")
def expected(repos: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Facts]:
    """Each repository indexed directly, in this process: the reference."""
    base = tmp_path_factory.mktemp("direct")
    facts = {}
    for name, root in repos.items():
        uri = str(base / name)
        index_repository(root, uri, workers=1)
        facts[name] = _facts(uri)
    assert len({f[2] for f in facts.values()}) == 3 and all(f[0] > 5 for f in facts.values())
    return facts


def _check(results: list[BulkResult], jobs: list[BulkJob], expected: dict[str, Facts], broken: str) -> None:
    assert sorted(r.repo for r in results) == sorted(j.repo for j in jobs)  # every job reported once
    by_repo = {Path(r.repo).name: r for r in results}
    bad = by_repo.pop(Path(broken).name)
    assert not bad.ok and "NotADirectoryError" in bad.error and broken in bad.error
    for name, r in by_repo.items():
        assert r.ok, r.error
        assert r.index_uri.endswith(f"/{name}")
        assert (r.symbols, r.chunks) == expected[name][:2]
        assert _facts(r.index_uri) == expected[name]


def test_plan_jobs_names_indexes_under_the_root(tmp_path: Path) -> None:
    jobs = plan_jobs(["a/x", str(tmp_path / "y/")], "s3://bucket/ix/")
    assert [j.index_uri for j in jobs] == ["s3://bucket/ix/x", "s3://bucket/ix/y"]
    assert all(os.path.isabs(j.repo) for j in jobs)
    assert plan_jobs([str(tmp_path / "z")])[0].index_uri == str(tmp_path / "z" / ".sgmcp")
    assert plan_jobs(["r"], "rel/ix")[0].index_uri == os.path.abspath("rel/ix") + "/r"
    with pytest.raises(ValueError, match="two repositories named 'x'"):
        plan_jobs(["a/x", "b/x"], str(tmp_path))  # two writers on one index


def test_index_one_reports_an_error_instead_of_raising(tmp_path: Path) -> None:
    r = index_one(BulkJob(str(tmp_path / "missing"), str(tmp_path / "ix")))
    assert not r.ok and r.error.startswith("NotADirectoryError") and r.worker
    with pytest.raises(ValueError, match="unknown backend"):
        list(bulk_index([], backend="spark"))


def test_local_backend_matches_direct_indexing(repos: dict[str, Path], expected: dict[str, Facts],
                                               tmp_path: Path) -> None:
    broken = str(tmp_path / "does-not-exist")
    jobs = plan_jobs([*map(str, repos.values()), broken], str(tmp_path / "ix"))
    results = list(bulk_index(jobs, backend="local", workers=2))
    _check(results, jobs, expected, broken)
    assert len({r.worker for r in results}) <= 2


@pytest.mark.integration
def test_cli_index_many(repos: dict[str, Path], expected: dict[str, Facts], tmp_path: Path) -> None:
    listing = tmp_path / "repos.txt"
    listing.write_text(f"# bulk job\n{repos['alpha']}\n{tmp_path / 'gone'}\n")
    env = {**os.environ, "LANCEDB_LOG": "error", "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "sgmcp", "index-many", str(repos["beta"]), "--from-file", str(listing),
           "--index-root", str(tmp_path / "ix"), "--no-vectors", "--workers", "1"]
    proc = subprocess.run([*cmd, "--json"], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 1, proc.stderr  # one repository failed
    data = json.loads(proc.stdout)
    assert data["total"] | {"wall_seconds": 0, "task_seconds": 0} == {
        "repositories": 3, "ok": 2, "failed": 1, "backend": "local", "wall_seconds": 0, "task_seconds": 0,
        "files": sum(r["files"] for r in data["results"]), "lines": sum(r["lines"] for r in data["results"]),
        "chunks": expected["alpha"][1] + expected["beta"][1]}
    assert {Path(r["repo"]).name: r["ok"] for r in data["results"]} == {"alpha": True, "beta": True, "gone": False}
    # A second run finds nothing to do and prints one line per repository plus the total.
    again = [sys.executable, "-m", "sgmcp", "index-many", str(repos["alpha"]), str(repos["beta"]),
             "--index-root", str(tmp_path / "ix"), "--no-vectors", "--workers", "1"]
    proc = subprocess.run(again, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 3 and lines[-1].startswith("total: 2/2 ok") and all(l.startswith("ok ") for l in lines[:2])


@pytest.fixture(scope="module")
def ray_local():
    ray = pytest.importorskip("ray")  # the dev extra installs it, so CI does run this
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.mark.integration
def test_ray_backend_on_a_local_instance(ray_local, repos: dict[str, Path], expected: dict[str, Facts],
                                         tmp_path: Path) -> None:
    broken = str(tmp_path / "does-not-exist")
    jobs = plan_jobs([broken, *map(str, repos.values())], str(tmp_path / "ix"))
    results = list(bulk_index(jobs, backend="ray"))
    _check(results, jobs, expected, broken)
    assert ray_local.is_initialized()  # an instance the caller started is left running for the caller
