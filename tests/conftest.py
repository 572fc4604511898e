"""Shared fixtures for the test suite."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

SAMPLE_REPO = Path(__file__).resolve().parent.parent / "examples" / "sample_repo"


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The sample repository copied to a temporary directory and indexed once (no encoder):
    ``(repo_path, index_dir)``. Treat both as read-only; copy again to mutate."""
    from indexer.pipeline import index_repository

    base = tmp_path_factory.mktemp("sample")
    repo = base / "repo"
    shutil.copytree(SAMPLE_REPO, repo, ignore=shutil.ignore_patterns(".sgmcp"))
    index_dir = str(base / "ix")
    index_repository(repo, index_dir)
    return repo, index_dir
