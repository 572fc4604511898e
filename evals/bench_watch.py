"""How fresh the index stays while files change, with the real watcher (watchdog/inotify).

    python -m evals.bench_watch [--only symbol|switch|semantic ...] [--trials N] [--json OUT]

The 10,000-file repository and its structural index are built once under ``evals/data/bench-watch/``
(git ignores it) and reused; ``--rebuild`` builds them again. The symbol probes are undone afterwards,
the branch switch works on a copy.

1. Symbol freshness on a repository of 10,000+ files (Django, NumPy, pandas and NetworkX sdists side
   by side, structural index): append a new function to a file, then poll ``find_definition`` on
   an Engine until it answers. Target: p95 <= 1 s.
2. Branch switch: git checkout of a branch that rewrites, deletes and adds 5,000 files, back and
   forth; the watched index must converge to exactly a fresh index of the final tree.
3. Semantic freshness on a smaller repository with vectors (marshmallow, from evals.corpora): append a
   function with a distinctive docstring and poll ``semantic_search`` for it. Target: p95 <= 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from evals.fetch import fetch
from indexer.pipeline import index_repository
from indexer.watch import Watcher
from sgmcp.engine import Engine

PACKAGES = ("django==5.2.8", "numpy==2.1.3", "pandas==2.2.3", "networkx==3.4.2")
# The probes ask the engine again only when it picked up a new commit: the answer cannot change
# otherwise, and a miss costs a fuzzy match over 100k names (~0.3 s of CPU and the GIL), which a
# tight poll would take from the watcher in the same process. --poll-every-query restores that.
POLL_EVERY_QUERY = False
# A server's watcher has long been running when a file is saved; a new one is still adding its
# inotify watches (a thousand folders here) for a moment after start().
SETTLE_S = 1.0
GIT = ["git", "-c", "user.email=bench@example.invalid", "-c", "user.name=bench"]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _poll(check, timeout: float = 30.0) -> float | None:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if check():
            return time.perf_counter() - start
        time.sleep(0.02)
    return None


class _Batches:
    """The watcher's batches as they land: (end time, index_repository seconds, paths parsed)."""

    def __init__(self) -> None:
        self.done: list[tuple[float, float, int]] = []

    def __call__(self, summary: Any) -> None:
        self.done.append((time.perf_counter(), summary.seconds, summary.parsed))

    def after(self, t: float) -> tuple[float, float, int] | None:
        return next((b for b in self.done if b[0] > t), None)


def symbol_freshness(root: Path, ix: str, trials: int, log) -> dict[str, Any]:
    py_files = sorted(p for p in root.rglob("*.py") if ".sgmcp" not in p.parts and "tests" not in p.parts)
    rng = random.Random(7)
    engine = Engine(root, ix)
    engine.find_definition("QuerySet")  # load the graph once, as a running server has
    latencies, waits, writes, refreshes = [], [], [], []
    originals: dict[Path, bytes] = {}
    batches = _Batches()
    try:
        with Watcher(root, ix, reconcile_first=False, on_batch=batches) as watcher:
            time.sleep(SETTLE_S)
            for i in range(trials):
                target = rng.choice(py_files)
                originals.setdefault(target, target.read_bytes())
                name = f"sgmcp_fresh_probe_{i}"
                refresh_s = [0.0]
                t0 = time.perf_counter()
                with open(target, "a") as fh:
                    fh.write(f"\n\ndef {name}(value):\n    return value\n")

                def found() -> bool:
                    r0 = time.perf_counter()
                    changed = engine.refresh()
                    if changed:
                        refresh_s[0] = time.perf_counter() - r0
                    if not (changed or POLL_EVERY_QUERY):
                        return False  # same commit, same answer
                    return any(r.symbol == name for r in engine.find_definition(name, 1))

                waited = _poll(found)
                latencies.append(waited if waited is not None else float("inf"))
                batch = batches.after(t0)
                if batch is not None:  # time before the batch started, the batch, the reader's refresh
                    end, seconds, _ = batch
                    waits.append(end - seconds - t0)
                    writes.append(seconds)
                    refreshes.append(refresh_s[0])
                detail = (f" (waited {waits[-1] * 1000:.0f} ms, batch {writes[-1] * 1000:.0f} ms, "
                          f"refresh {refreshes[-1] * 1000:.0f} ms)") if batch is not None else ""
                log(f"  probe {i}: {target.relative_to(root)} searchable after {latencies[-1] * 1000:.0f} ms{detail}")
                time.sleep(0.2)
            watcher.wait_idle(60)
    finally:  # undo the probes, so the repository can be used again
        for path, data in originals.items():
            path.write_bytes(data)
        index_repository(root, ix, paths=[p.relative_to(root).as_posix() for p in originals])
    med = lambda xs: statistics.median(xs) * 1000 if xs else None  # noqa: E731
    return {"trials": trials, "p50_ms": _pct(latencies, 0.5) * 1000, "p95_ms": _pct(latencies, 0.95) * 1000,
            "max_ms": max(latencies) * 1000, "median_wait_ms": med(waits), "median_batch_ms": med(writes),
            "median_refresh_ms": med(refreshes)}


def branch_switch(root: Path, ix: str, files: int, log) -> dict[str, Any]:
    git = [*GIT, "-C", str(root)]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "main"], check=True)
    subprocess.run([*git, "checkout", "-qb", "feature"], check=True)
    candidates = sorted(p for p in root.rglob("*.py") if ".git" not in p.parts and ".sgmcp" not in p.parts)
    rng = random.Random(11)
    chosen = rng.sample(candidates, min(files, len(candidates)))
    deleted = chosen[: len(chosen) // 10]
    for path in chosen[len(deleted):]:
        with open(path, "a") as fh:
            fh.write(f"\n\ndef feature_branch_{abs(hash(path.name)) % 10**8}():\n    pass\n")
    for path in deleted:
        path.unlink()
    for n in range(len(deleted)):
        (root / "feature_added").mkdir(exist_ok=True)
        (root / "feature_added" / f"added_{n}.py").write_text(f"def added_{n}():\n    return {n}\n")
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "feature"], check=True)
    subprocess.run([*git, "checkout", "-q", "main"], check=True)
    index_repository(root, ix)
    changed = len(chosen) + len(deleted)
    with Watcher(root, ix, reconcile_first=False) as watcher:
        t0 = time.perf_counter()
        for branch in ("feature", "main", "feature"):
            subprocess.run([*git, "checkout", "-q", branch], check=True)
        checkout_s = time.perf_counter() - t0
        time.sleep(0.3)
        converged = watcher.wait_idle(600)
        converge_s = time.perf_counter() - t0
        state = watcher.state()
    log(f"  3 checkouts of {changed} changed files: converged={converged} in {converge_s:.1f} s "
        f"({state.batches} batches)")
    fresh = tempfile.mkdtemp(prefix="sgmcp-fresh-")
    index_repository(root, fresh)
    from indexer.store import IndexStore

    def symbols(path: str) -> set[tuple[str, str, int]]:
        rows = IndexStore(path).snapshot().arrow("symbols", ["path", "qualname", "start_line"]).to_pylist()
        return {(r["path"], r["qualname"], r["start_line"]) for r in rows}

    watched, expected = symbols(ix), symbols(fresh)
    shutil.rmtree(fresh, ignore_errors=True)
    return {"files_changed_per_switch": changed, "switches": 3, "checkout_s": checkout_s,
            "converge_s": converge_s, "batches": state.batches, "converged": converged,
            "equal_to_fresh_index": watched == expected, "symbols": len(expected),
            "missing": len(expected - watched), "extra": len(watched - expected)}


def semantic_freshness(root: Path, ix: str, trials: int, log) -> dict[str, Any]:
    from indexer.encoder import load_encoder

    encoder = load_encoder()
    t0 = time.perf_counter()
    summary = index_repository(root, ix, encoder=encoder)
    log(f"  indexed {summary.files} files, {summary.chunks} chunks with vectors in {time.perf_counter() - t0:.0f} s")
    engine = Engine(root, ix, encoder=encoder)
    engine.semantic_search("warm up", 1)
    target = sorted(p for p in root.rglob("*.py") if ".sgmcp" not in p.parts)[0]
    topics = ["convert a temperature from fahrenheit to celsius", "count the vowels in a sentence",
              "compute the great-circle distance between two coordinates", "rotate a square matrix clockwise",
              "check whether a year is a leap year", "merge two sorted sequences into one",
              "compute the luhn checksum of a card number", "encode bytes as run-length pairs",
              "find the median of three numbers", "strip accents from latin characters"]
    latencies = []
    with Watcher(root, ix, encoder=encoder, reconcile_first=False) as watcher:
        time.sleep(SETTLE_S)
        for i in range(trials):
            topic = topics[i % len(topics)]
            name = f"probe_{i}_helper"
            with open(target, "a") as fh:
                fh.write(f'\n\ndef {name}(x):\n    """{topic.capitalize()}."""\n    return x\n')

            def found() -> bool:
                if not engine.refresh() and not POLL_EVERY_QUERY:
                    return False  # same commit, same answer
                return any(r.symbol == name for r in engine.semantic_search(topic, 5))

            waited = _poll(found)
            latencies.append(waited if waited is not None else float("inf"))
            log(f"  semantic probe {i}: '{topic}' found after {latencies[-1] * 1000:.0f} ms")
            time.sleep(0.2)
        watcher.wait_idle(60)
    return {"trials": trials, "chunks": summary.chunks, "p50_ms": _pct(latencies, 0.5) * 1000,
            "p95_ms": _pct(latencies, 0.95) * 1000, "max_ms": max(latencies) * 1000}


CACHE_DIR = Path(__file__).resolve().parent / "data" / "bench-watch"


def _cached_repo(cache: Path, rebuild: bool, log) -> tuple[Path, str, dict[str, Any]]:
    """The 10k-file repository and its structural index, built once and reused."""
    root, ix, meta_path = cache / "repo", str(cache / "ix"), cache / "repo.json"
    if not rebuild and meta_path.exists() and root.is_dir():
        meta = json.loads(meta_path.read_text())
        t0 = time.perf_counter()
        index_repository(root, ix)  # a no-op unless something changed it
        log(f"repo: reused {root} ({meta['files_indexed']} files indexed; checked in {time.perf_counter() - t0:.0f} s)")
        return root, ix, meta
    shutil.rmtree(cache, ignore_errors=True)
    root.mkdir(parents=True)
    for spec in PACKAGES:
        src = fetch(spec)
        shutil.copytree(src, root / src.name, symlinks=True)
    files = sum(1 for p in root.rglob("*") if p.is_file())
    t0 = time.perf_counter()
    summary = index_repository(root, ix)
    meta = {"packages": PACKAGES, "files_on_disk": files, "files_indexed": summary.files,
            "lines": summary.lines, "index_s": time.perf_counter() - t0}
    meta_path.write_text(json.dumps(meta, indent=2))
    log(f"repo: {files} files ({summary.files} indexed, {summary.lines} lines) in {meta['index_s']:.0f} s")
    return root, ix, meta


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.bench_watch", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", choices=("symbol", "switch", "semantic"),
                        help="run only this part (repeatable); default: all three")
    parser.add_argument("--trials", type=int, default=20, help="symbol probes (semantic: at most 10)")
    parser.add_argument("--switch-files", type=int, default=4500, help="files rewritten (10%% of them deleted, "
                        "as many added) by the branch switch")
    parser.add_argument("--skip-semantic", action="store_true")
    parser.add_argument("--cache", type=Path, default=CACHE_DIR, help="where the reused repository and index live")
    parser.add_argument("--rebuild", action="store_true", help="build the cached repository and index again")
    parser.add_argument("--poll-every-query", action="store_true",
                        help="query on every poll (every 20 ms), not only after a new commit (the old method)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    global POLL_EVERY_QUERY
    POLL_EVERY_QUERY = args.poll_every_query
    parts = set(args.only or ("symbol", "switch", "semantic"))
    if args.skip_semantic:
        parts.discard("semantic")
    log = print
    work = Path(tempfile.mkdtemp(prefix="sgmcp-watch-bench-"))
    result: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                              "load_average": list(os.getloadavg()), "poll_every_query": POLL_EVERY_QUERY}
    try:
        if parts & {"symbol", "switch"}:
            root, ix, result["repo"] = _cached_repo(args.cache, args.rebuild, log)
            if "symbol" in parts:
                log("symbol freshness:")
                result["symbol_freshness"] = symbol_freshness(root, ix, args.trials, log)
            if "switch" in parts:  # on a copy: the switch commits to git and rewrites thousands of files
                log("branch switch:")
                shutil.copytree(root, work / "repo", symlinks=True)
                shutil.copytree(ix, work / "ix")
                result["branch_switch"] = branch_switch(work / "repo", str(work / "ix"), args.switch_files, log)
        if "semantic" in parts:
            from evals.corpora import fetch as fetch_corpus

            small = work / "small"
            shutil.copytree(fetch_corpus("marshmallow"), small)
            log("semantic freshness:")
            result["semantic_freshness"] = semantic_freshness(small, str(work / "ix-small"), min(args.trials, 10), log)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result["load_average_end"] = list(os.getloadavg())
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
