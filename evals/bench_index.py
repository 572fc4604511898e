"""Benchmark the structural indexer on a large real codebase.

Measures, for ``indexer.pipeline.index_repository`` without an encoder (structural index only):

* a full index from scratch: wall time, files, lines, chunks/symbols/refs, files/s, lines/s,
  index size on disk and peak RSS (this process and, separately, its parse workers);
* a re-run with nothing changed;
* one-file updates: a new function appended to a mid-sized ``.py`` file, re-indexed, N times
  (a different file each time); median and max;
* the same kind of edit through a fresh ``python -m sgmcp index --no-vectors`` process;
* the periodic compaction that every ``OPTIMIZE_EVERY``-th commit pays (``IndexStore.maintain``).

The source is copied to a temporary directory first, so the edits never touch the cached package.

    python -m evals.bench_index --package django==5.2.8 --json evals/reports/tmp/bench.json
    python -m evals.bench_index --path /some/checkout
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

os.environ.setdefault("LANCEDB_LOG", "error")
# The pipeline forks its parse pool after lancedb is loaded; lancedb warns once per worker. Noted in
# evals/README.md; silenced here so the benchmark's log stays readable.
warnings.filterwarnings("ignore", message="lancedb fork support is experimental")

TARGET_FULL_S_PER_500K_LINES = 30.0
TARGET_UPDATE_MS = 200.0


# ---- measurement helpers ----------------------------------------------------------------------
def _maxrss_mib(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024.0  # KiB on Linux


def _cpu_s() -> float:
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def _du(path: Path) -> tuple[int, int, int]:
    """(bytes on disk, apparent bytes, file count) under ``path``, like ``du`` and ``du -b``."""
    disk = apparent = count = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            try:
                st = os.lstat(os.path.join(dirpath, name))
            except OSError:
                continue
            disk += st.st_blocks * 512
            apparent += st.st_size
            count += 1
    return disk, apparent, count


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class PhaseTimer:
    """Wall time per pipeline stage, by wrapping the module-level names ``index_repository`` calls.
    Purely observational; a name that no longer exists is simply not timed."""

    STAGES = (
        ("indexer.pipeline", "IndexStore.prepare_writer", "open+repair"),
        ("indexer.pipeline", "_known_files", "load file table"),
        ("indexer.pipeline", "discover", "discover"),
        ("indexer.pipeline", "_parse_all", "read+hash+parse"),
        ("indexer.pipeline", "_add_parsed", "rows (split_text)"),
        ("indexer.pipeline", "IndexStore.write", "write tables"),
        ("indexer.pipeline", "IndexStore.maintain", "maintain (FTS/BTree/optimize)"),
        ("indexer.pipeline", "_count", "count rows"),
    )

    def __init__(self) -> None:
        self.totals: dict[str, float] = {}
        self._undo: list[tuple[Any, str, Any]] = []

    def install(self) -> None:
        import importlib

        for module_name, attr, label in self.STAGES:
            owner: Any = importlib.import_module(module_name)
            parts = attr.split(".")
            for part in parts[:-1]:
                owner = getattr(owner, part, None)
                if owner is None:
                    break
            if owner is None or not hasattr(owner, parts[-1]):
                continue
            original = getattr(owner, parts[-1])
            setattr(owner, parts[-1], self._wrap(original, label))
            self._undo.append((owner, parts[-1], original))

    def uninstall(self) -> None:
        for owner, name, original in reversed(self._undo):
            setattr(owner, name, original)
        self._undo.clear()

    def _wrap(self, fn: Any, label: str) -> Any:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.totals[label] = self.totals.get(label, 0.0) + time.perf_counter() - t0
        return timed


# ---- the benchmark ------------------------------------------------------------------------------
def _index(root: Path, index_dir: Path, workers: int | None, phases: PhaseTimer | None,
           paths: list[str] | None = None) -> dict[str, Any]:
    from indexer.pipeline import index_repository

    cpu0 = _cpu_s()
    t0 = time.perf_counter()
    if phases is not None:
        phases.totals = {}
    summary = index_repository(root, str(index_dir), workers=workers, paths=paths)
    wall = time.perf_counter() - t0
    return {
        "wall_s": wall, "cpu_s": _cpu_s() - cpu0, "summary_seconds": summary.seconds,
        "files": summary.files, "parsed": summary.parsed, "unchanged": summary.unchanged,
        "deleted": summary.deleted, "lines": summary.lines, "chunks": summary.chunks,
        "symbols": summary.symbols, "references": summary.references, "imports": summary.imports,
        "syntax_errors": summary.syntax_errors, "skipped": summary.skipped,
        "phases_s": dict(phases.totals) if phases is not None else {},
    }


def _pick_update_files(root: Path, index_dir: Path, n: int) -> list[str]:
    """``n`` distinct indexed .py files closest to the median .py size: 'mid-sized' files."""
    from indexer.store import IndexStore

    rows = IndexStore(str(index_dir)).snapshot().arrow("files", ["path", "size", "language"]).to_pylist()
    py = sorted((r["size"], r["path"]) for r in rows
                if r["path"].endswith(".py") and not r["path"].endswith("__init__.py") and r["size"] > 0)
    if not py:
        py = sorted((r["size"], r["path"]) for r in rows if r["size"] > 0)
    if not py:
        raise SystemExit("no indexed files to edit")
    mid = len(py) // 2
    lo, hi = max(0, mid - n // 2), min(len(py), mid - n // 2 + n)
    chosen = [path for _size, path in py[lo:hi]]
    return chosen


def _append_function(path: Path, i: int) -> None:
    before = path.stat().st_mtime_ns
    with path.open("a", encoding="utf-8") as fh:
        fh.write(f"\n\ndef sgmcp_bench_added_{i}(value, factor={i}):\n"
                 f'    """Benchmark edit {i}: scale a value."""\n'
                 f"    return value * factor + {i}\n")
    # Make sure the mtime moves even on a coarse-grained file system.
    st = path.stat()
    if st.st_mtime_ns <= before:
        os.utime(path, ns=(st.st_atime_ns, before + 1_000_000))


def run_benchmark(source: Path, *, label: str, updates: int = 5, workers: int | None = None,
                  tmp_parent: str | None = None, keep: bool = False,
                  phases: bool = True, cli_update: bool = True, log=print) -> dict[str, Any]:
    from indexer.store import OPTIMIZE_EVERY, IndexStore

    timer = PhaseTimer() if phases else None
    if timer is not None:
        timer.install()
    work = Path(tempfile.mkdtemp(prefix="sgmcp-bench-", dir=tmp_parent))
    root, index_dir = work / "src", work / "index"
    try:
        t0 = time.perf_counter()
        shutil.copytree(source, root, symlinks=True)
        log(f"copied {source} -> {root} in {time.perf_counter() - t0:.1f}s")

        rss_before = _maxrss_mib(resource.RUSAGE_SELF)
        full = _index(root, index_dir, workers, timer)
        full["peak_rss_self_mib"] = _maxrss_mib(resource.RUSAGE_SELF)
        full["peak_rss_children_mib"] = _maxrss_mib(resource.RUSAGE_CHILDREN)
        disk, apparent, nfiles = _du(index_dir)
        full.update(index_disk_bytes=disk, index_apparent_bytes=apparent, index_file_count=nfiles)
        log(f"full index: {full['files']} files, {full['lines']} lines in {full['wall_s']:.2f}s")

        noop = _index(root, index_dir, workers, timer)
        log(f"no-change re-run: {noop['wall_s'] * 1000:.0f} ms")

        edits = []
        for i, rel in enumerate(_pick_update_files(root, index_dir, updates), 1):
            _append_function(root / rel, i)
            res = _index(root, index_dir, workers, timer)
            res["path"] = rel
            res["size"] = (root / rel).stat().st_size
            edits.append(res)
            log(f"update {i}: {rel} ({res['size']} B) {res['wall_s'] * 1000:.0f} ms, parsed {res['parsed']}")
            if res["parsed"] != 1:
                log(f"  warning: expected 1 file re-parsed, got {res['parsed']}")

        # The watcher's path: the changed file is known, so nothing else is walked or read.
        watched = []
        for i, rel in enumerate(_pick_update_files(root, index_dir, updates), 1):
            _append_function(root / rel, 100 + i)
            res = _index(root, index_dir, workers, timer, paths=[rel])
            res["path"] = rel
            watched.append(res)
            log(f"watcher update {i}: {rel} {res['wall_s'] * 1000:.0f} ms, parsed {res['parsed']}")

        # The same edit through the CLI, as an agent without a running server would pay it: a fresh
        # interpreter, imports (lancedb, pyarrow, tree-sitter) and the update itself.
        cli = None
        if cli_update and edits:
            rel = edits[len(edits) // 2]["path"]
            _append_function(root / rel, len(edits) + 1)
            cmd = [sys.executable, "-m", "sgmcp", "index", str(root), "--index-dir", str(index_dir),
                   "--no-vectors", "--json"]
            env = {**os.environ, "PYTHONWARNINGS": "ignore"}
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
            wall = time.perf_counter() - t0
            cli = {"path": rel, "wall_s": wall, "returncode": proc.returncode}
            try:
                out = json.loads(proc.stdout)
                cli.update(summary_seconds=out["seconds"], parsed=out["parsed"])
            except (ValueError, KeyError):
                cli["stderr_tail"] = proc.stderr[-2000:]
            log(f"one-file update via a fresh `sgmcp index` process: {wall * 1000:.0f} ms "
                f"(index_repository itself {cli.get('summary_seconds', float('nan')) * 1000:.0f} ms)")

        # What the OPTIMIZE_EVERY-th commit adds on top of a normal update (compaction + version cleanup).
        store = IndexStore(str(index_dir))
        t0 = time.perf_counter()
        store.maintain(force=True)
        compaction_s = time.perf_counter() - t0
        log(f"compaction (every {OPTIMIZE_EVERY} commits): {compaction_s:.2f}s")
        disk_after, apparent_after, nfiles_after = _du(index_dir)

        walls = [e["wall_s"] for e in edits]
        result = {
            "label": label,
            "source": str(source),
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": {"cores": _cores(), "cpu_count": os.cpu_count(), "platform": platform.platform(),
                        "python": platform.python_version(), "load_avg_at_start": _loadavg()},
            "workers": workers or os.cpu_count(),
            "rss_before_index_mib": rss_before,
            "full": full,
            "noop": noop,
            "updates": edits,
            "update_median_ms": statistics.median(walls) * 1000 if walls else None,
            "update_max_ms": max(walls) * 1000 if walls else None,
            "watched_updates": watched,
            "watched_update_median_ms": statistics.median(w["wall_s"] for w in watched) * 1000 if watched else None,
            "watched_update_max_ms": max(w["wall_s"] for w in watched) * 1000 if watched else None,
            "cli_update": cli,
            "compaction_s": compaction_s,
            "optimize_every": OPTIMIZE_EVERY,
            "index_disk_bytes_after_compaction": disk_after,
            "index_apparent_bytes_after_compaction": apparent_after,
            "index_file_count_after_compaction": nfiles_after,
            "peak_rss_self_mib_end": _maxrss_mib(resource.RUSAGE_SELF),
        }
        lines = max(full["lines"], 1)
        result["full_scaled_to_500k_lines_s"] = full["wall_s"] * 500_000 / lines
        result["targets"] = {
            "full_500k_lines_under_30s": result["full_scaled_to_500k_lines_s"] < TARGET_FULL_S_PER_500K_LINES,
            "one_file_update_under_200ms": (result["update_max_ms"] or 0) < TARGET_UPDATE_MS,
            "watched_update_under_200ms": (result["watched_update_max_ms"] or 0) < TARGET_UPDATE_MS,
            "one_file_update_median_under_200ms": (result["update_median_ms"] or 0) < TARGET_UPDATE_MS,
        }
        return result
    finally:
        if timer is not None:
            timer.uninstall()
        if keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def _loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


# ---- reporting ----------------------------------------------------------------------------------
def _mib(n: float) -> str:
    return f"{n / (1 << 20):.1f} MiB"


def markdown(r: dict[str, Any]) -> str:
    f, n = r["full"], r["noop"]
    ok = {True: "met", False: "**missed**"}
    m = r["machine"]
    out = [
        f"**{r['label']}** — {r['date']}, {m['cores']} cores, Python {m['python']}, "
        f"workers={r['workers']}, load avg at start {m['load_avg_at_start']}",
        "",
        "| measure | value |",
        "|---|---|",
        f"| files indexed | {f['files']:,} (skipped: {sum(f['skipped'].values()):,}) |",
        f"| lines | {f['lines']:,} |",
        f"| chunks / symbols / refs / imports | {f['chunks']:,} / {f['symbols']:,} / "
        f"{f['references']:,} / {f['imports']:,} |",
        f"| full index, wall | {f['wall_s']:.2f} s (CPU {f['cpu_s']:.1f} s) |",
        f"| files/s | {f['files'] / f['wall_s']:,.0f} |",
        f"| lines/s | {f['lines'] / f['wall_s']:,.0f} |",
        f"| full index scaled linearly to 500k lines | {r['full_scaled_to_500k_lines_s']:.1f} s "
        f"(target < 30 s: {ok[r['targets']['full_500k_lines_under_30s']]}) |",
        f"| index size on disk | {_mib(f['index_disk_bytes'])} ({f['index_file_count']:,} files; "
        f"{_mib(r['index_disk_bytes_after_compaction'])} right after a compaction, which keeps "
        f"superseded versions for readers) |",
        f"| peak RSS, indexing process | {f['peak_rss_self_mib']:.0f} MiB "
        f"(before indexing: {r['rss_before_index_mib']:.0f} MiB) |",
        f"| peak RSS, largest parse worker | {f['peak_rss_children_mib']:.0f} MiB |",
        f"| re-run, nothing changed | {n['wall_s'] * 1000:.0f} ms |",
        f"| one-file update, median of {len(r['updates'])} | {r['update_median_ms']:.0f} ms |",
        f"| one-file update, max | {r['update_max_ms']:.0f} ms "
        f"(target < 200 ms: {ok[r['targets']['one_file_update_under_200ms']]}) |",
        f"| one-file update via the watcher path (`paths=[file]`), median / max of {len(r['watched_updates'])} | "
        f"{r['watched_update_median_ms']:.0f} / {r['watched_update_max_ms']:.0f} ms "
        f"(target < 200 ms: {ok[r['targets']['watched_update_under_200ms']]}) |",
    ]
    cli = r.get("cli_update")
    if cli and "summary_seconds" in cli:
        out.append(f"| one-file update, fresh `sgmcp index --no-vectors` process | {cli['wall_s'] * 1000:.0f} ms "
                   f"(of which index_repository {cli['summary_seconds'] * 1000:.0f} ms) |")
    out.append(f"| extra cost of the compaction every {r['optimize_every']} commits | {r['compaction_s']:.2f} s |")
    if f["phases_s"]:
        out += ["", "Where the time goes (wall seconds per stage):", "",
                "| stage | full index | no-change re-run | one-file update (median) |", "|---|---|---|---|"]
        labels = [label for _m, _a, label in PhaseTimer.STAGES]
        for label in labels:
            if label not in f["phases_s"] and label not in n["phases_s"]:
                continue
            upd = [e["phases_s"].get(label, 0.0) for e in r["updates"]]
            med = statistics.median(upd) if upd else 0.0
            out.append(f"| {label} | {f['phases_s'].get(label, 0.0):.3f} | "
                       f"{n['phases_s'].get(label, 0.0):.3f} | {med:.3f} |")
    out += ["", "One-file updates:", "", "| # | file | bytes | wall ms |", "|---|---|---|---|"]
    for i, e in enumerate(r["updates"], 1):
        out.append(f"| {i} | `{e['path']}` | {e['size']:,} | {e['wall_s'] * 1000:.0f} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--package", default=None, help="NAME==VERSION fetched from PyPI (default django==5.2.8)")
    src.add_argument("--path", type=Path, help="an existing source directory instead of a package")
    ap.add_argument("--json", type=Path, help="also write the full results as JSON here")
    ap.add_argument("--updates", type=int, default=5, help="one-file updates to time (default %(default)s)")
    ap.add_argument("--workers", type=int, default=None, help="parse processes (default: CPU count)")
    ap.add_argument("--tmp", default=None, help="parent directory for the working copy (default: system temp)")
    ap.add_argument("--keep", action="store_true", help="keep the working copy and index")
    ap.add_argument("--no-phases", action="store_true", help="do not time pipeline stages")
    ap.add_argument("--no-cli", action="store_true", help="skip the one-file update through a fresh CLI process")
    args = ap.parse_args(argv)

    if args.path is not None:
        source, label = args.path.resolve(), str(args.path)
        if not source.is_dir():
            ap.error(f"not a directory: {args.path}")
    else:
        from evals.fetch import DEFAULT_PACKAGE, fetch

        spec = args.package or DEFAULT_PACKAGE
        source, label = fetch(spec), spec
    log = functools.partial(print, file=sys.stderr, flush=True)
    result = run_benchmark(source, label=label, updates=args.updates, workers=args.workers,
                           tmp_parent=args.tmp, keep=args.keep, phases=not args.no_phases,
                           cli_update=not args.no_cli, log=log)
    print(markdown(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
