"""The watcher on real file-system events (inotify through watchdog) in temporary directories."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import wait_until

from indexer.pipeline import index_repository
from indexer.store import IndexStore
from indexer.watch import Watcher


def _names(ix: Path) -> set[tuple[str, str]]:
    rows = IndexStore(str(ix)).snapshot().arrow("symbols", ["path", "qualname"]).to_pylist()
    return {(r["path"], r["qualname"]) for r in rows}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "a.py").write_text("def alpha():\n    return 1\n")
    (root / ".gitignore").write_text("ignored/\n")
    return root


def test_reconcile_at_start_then_follow_edits(repo: Path, tmp_path: Path) -> None:
    ix = tmp_path / "ix"
    index_repository(repo, str(ix))
    (repo / "pkg" / "b.py").write_text("def beta():\n    pass\n")  # changed while nobody watched
    with Watcher(repo, str(ix), debounce=0.05) as w:
        assert w.wait_idle()
        assert ("pkg/b.py", "beta") in _names(ix)

        # An editor's save: write a temp file, then rename it over the original.
        tmp = repo / "pkg" / ".a.py.swp"
        tmp.write_text("def alpha_renamed():\n    return 2\n")
        os.replace(tmp, repo / "pkg" / "a.py")
        assert wait_until(lambda: ("pkg/a.py", "alpha_renamed") in _names(ix))
        assert ("pkg/a.py", "alpha") not in _names(ix)
        assert not any(p.endswith(".swp") for p, _ in _names(ix))

        (repo / "pkg" / "b.py").unlink()
        assert wait_until(lambda: not any(p == "pkg/b.py" for p, _ in _names(ix)))

        (repo / "ignored").mkdir()
        (repo / "ignored" / "x.py").write_text("def hidden():\n    pass\n")
        (repo / "pkg" / "c.py").write_text("def gamma():\n    pass\n")
        assert wait_until(lambda: ("pkg/c.py", "gamma") in _names(ix))
        assert w.wait_idle()
        assert not any(p.startswith("ignored/") for p, _ in _names(ix))


def test_directory_moves_and_deletes(repo: Path, tmp_path: Path) -> None:
    ix = tmp_path / "ix"
    with Watcher(repo, str(ix), debounce=0.05) as w:
        assert w.wait_idle()
        sub = repo / "lib" / "deep"
        sub.mkdir(parents=True)
        for n in range(5):
            (sub / f"m{n}.py").write_text(f"def f{n}():\n    pass\n")
        assert wait_until(lambda: ("lib/deep/m4.py", "f4") in _names(ix))
        (repo / "lib").rename(repo / "moved")
        assert wait_until(lambda: ("moved/deep/m4.py", "f4") in _names(ix)
                      and not any(p.startswith("lib/") for p, _ in _names(ix)))
        shutil.rmtree(repo / "moved")
        assert wait_until(lambda: not any(p.startswith("moved/") for p, _ in _names(ix)))
        assert w.state().last_error == ""


def test_branch_switch_converges(tmp_path: Path) -> None:
    """git checkout of another branch rewrites many files at once: the index must end up equal
    to a fresh index of the final tree (no lost update)."""
    root = tmp_path / "repo"
    root.mkdir()
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t", "-C", str(root)]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    for n in range(300):
        (root / f"m{n}.py").write_text(f"def main_{n}():\n    pass\n")
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "main"], check=True)
    subprocess.run([*git, "checkout", "-qb", "feature"], check=True)
    for n in range(300):
        if n % 3 == 0:
            (root / f"m{n}.py").unlink()
        else:
            (root / f"m{n}.py").write_text(f"def feature_{n}():\n    pass\n")
    for n in range(300, 400):
        (root / f"m{n}.py").write_text(f"def feature_{n}():\n    pass\n")
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "feature"], check=True)
    subprocess.run([*git, "checkout", "-q", "main"], check=True)

    ix = tmp_path / "ix"
    with Watcher(root, str(ix), debounce=0.1) as w:
        assert w.wait_idle(60)
        for _ in range(3):  # switch back and forth; each switch rewrites ~400 files
            subprocess.run([*git, "checkout", "-q", "feature"], check=True)
            subprocess.run([*git, "checkout", "-q", "main"], check=True)
        subprocess.run([*git, "checkout", "-q", "feature"], check=True)
        time.sleep(0.5)
        assert w.wait_idle(120)
    fresh = tmp_path / "fresh"
    index_repository(root, str(fresh))
    assert _names(ix) == _names(fresh)
    assert any(q == "feature_350" for _, q in _names(ix))


def test_event_overflow_triggers_a_full_pass(repo: Path, tmp_path: Path) -> None:
    """Lost events (a kernel queue overflow, which watchdog only logs) are recovered by a full pass."""
    import logging

    ix = tmp_path / "ix"
    with Watcher(repo, str(ix), debounce=0.05) as w:
        assert w.wait_idle()
        w._observer.unschedule_all()  # from here on, no event reaches the watcher
        (repo / "pkg" / "lost.py").write_text("def lost():\n    pass\n")
        time.sleep(0.3)
        assert not any(q == "lost" for _, q in _names(ix))
        logging.getLogger("watchdog.observers.inotify_c").warning("Inotify queue overflowed; filesystem events were lost")
        assert wait_until(lambda: ("pkg/lost.py", "lost") in _names(ix))


def test_stopped_before_starting(repo: Path, tmp_path: Path) -> None:
    """The server starts its watcher late (after the first answer); it may be closed before that."""
    w = Watcher(repo, str(tmp_path / "ix"))
    assert w.state().pending == 1  # the first full pass counts as pending until it has run
    assert not w.wait_idle(timeout=0.2)
    w.stop()
    w.start()  # after stop: does nothing
    assert not w._thread.is_alive()


class _SlowEncoder:
    """Embeds one text per 200 ms, reporting progress as the real encoder does between batches."""

    name, dim, max_length = "slow-8", 8, 256

    def embed_queries(self, texts):
        return np.ones((len(texts), self.dim), dtype=np.float32) / np.sqrt(self.dim)

    def embed_code(self, texts, progress=None):
        for i in range(len(texts)):
            time.sleep(0.2)
            if progress is not None:
                progress(i + 1, len(texts))
        return self.embed_queries(texts)


def test_stop_interrupts_a_long_pass(repo: Path, tmp_path: Path) -> None:
    """A server closed during its first (long) pass stops at once and writes nothing half-done."""
    for i in range(40):
        (repo / "pkg" / f"m{i}.py").write_text(f"def f{i}():\n    return {i}\n")
    ix = tmp_path / "ix"
    w = Watcher(repo, str(ix), encoder=_SlowEncoder()).start()
    assert wait_until(lambda: w.state().applying, timeout=10)
    time.sleep(0.3)
    started = time.monotonic()
    w.stop()
    assert not w._thread.is_alive()
    assert time.monotonic() - started < 2  # the pass alone takes 8 s or more
    assert IndexStore(str(ix)).last_commit() is None  # nothing committed from the interrupted pass
