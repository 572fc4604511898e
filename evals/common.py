"""Shared helpers for the retrieval evaluations: ranking metrics, latency percentiles, machine facts.

Metrics take a ranked list of item keys (best first, duplicates already removed) and the set of
relevant keys; relevance is binary. An item ranked below the cut-off counts as not retrieved, so
MRR is "MRR@cutoff" (CoSQA/CodeXGLUE convention: reciprocal rank 0 when the gold item is not in
the top-k that was asked for).
"""

from __future__ import annotations

import math
import os
import platform
import statistics
from collections.abc import Hashable, Iterable, Sequence
from typing import Any, TypeVar

T = TypeVar("T", bound=Hashable)


def first_appearance(items: Iterable[T]) -> list[T]:
    """``items`` without repeats, each at the position of its first appearance (e.g. chunks -> files)."""
    seen: set[T] = set()
    out: list[T] = []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


def rank_of(ranked: Sequence[Hashable], relevant: Iterable[Hashable]) -> int | None:
    """1-based rank of the best-ranked relevant item, or None when none was retrieved."""
    gold = set(relevant)
    for i, item in enumerate(ranked, 1):
        if item in gold:
            return i
    return None


def reciprocal_rank(ranked: Sequence[Hashable], relevant: Iterable[Hashable], k: int | None = None) -> float:
    rank = rank_of(ranked if k is None else ranked[:k], relevant)
    return 0.0 if rank is None else 1.0 / rank


def precision_at(ranked: Sequence[Hashable], relevant: Iterable[Hashable], k: int) -> float:
    """Share of the top ``k`` slots holding a relevant item (P@1 is Acc@1 with one gold item)."""
    gold = set(relevant)
    return sum(1 for item in ranked[:k] if item in gold) / k


def recall_at(ranked: Sequence[Hashable], relevant: Iterable[Hashable], k: int) -> float:
    gold = set(relevant)
    if not gold:
        return 0.0
    return len(gold.intersection(ranked[:k])) / len(gold)


def ndcg_at(ranked: Sequence[Hashable], relevant: Iterable[Hashable], k: int = 10) -> float:
    """Binary-relevance NDCG@k."""
    gold = set(relevant)
    if not gold:
        return 0.0
    dcg = sum(1.0 / math.log2(i + 1) for i, item in enumerate(ranked[:k], 1) if item in gold)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(k, len(gold)) + 1))
    return dcg / ideal


def metrics(ranked: Sequence[Hashable], relevant: Iterable[Hashable], k: int = 100) -> dict[str, float]:
    """All per-query metrics for one ranked list, cut at ``k``."""
    gold = set(relevant)
    top = list(ranked[:k])
    return {"rr": reciprocal_rank(top, gold), "p@1": precision_at(top, gold, 1), "r@1": recall_at(top, gold, 1),
            "r@5": recall_at(top, gold, 5), "r@10": recall_at(top, gold, 10), "r@100": recall_at(top, gold, 100),
            "ndcg@10": ndcg_at(top, gold, 10)}


def aggregate(per_query: Sequence[dict[str, float]]) -> dict[str, float]:
    """Mean of each per-query metric; ``rr`` becomes ``mrr``."""
    if not per_query:
        return {}
    out = {}
    for key in per_query[0]:
        name = "mrr" if key == "rr" else key
        out[name] = round(statistics.fmean(q[key] for q in per_query), 4)
    out["n"] = len(per_query)
    return out


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    idx = max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))
    return ordered[idx]


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {"p50_ms": round(percentile(ms, 50), 2), "p90_ms": round(percentile(ms, 90), 2),
            "p99_ms": round(percentile(ms, 99), 2), "max_ms": round(max(ms), 2) if ms else float("nan"),
            "mean_ms": round(statistics.fmean(ms), 2) if ms else float("nan"), "n": len(ms)}


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def git_head() -> str | None:
    """The checked-out commit (with "+dirty" when tracked files differ), or None outside git."""
    import subprocess

    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if dirty else "")


def machine() -> dict[str, Any]:
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    return {"cores": cores(), "cpu_count": os.cpu_count(), "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(), "python": platform.python_version(),
            "load_avg_at_start": load}


def paired_bootstrap(a: Sequence[float], b: Sequence[float], *, samples: int = 2000, seed: int = 0) -> dict[str, float]:
    """Mean of ``b - a`` over paired per-query scores with a 95% bootstrap interval, and the share of
    resamples where ``b`` is not better (a one-sided p-value estimate)."""
    import random

    if len(a) != len(b) or not a:
        raise ValueError("paired_bootstrap needs two equal, non-empty sequences")
    diffs = [y - x for x, y in zip(a, b)]
    rng = random.Random(seed)
    n = len(diffs)
    means = sorted(statistics.fmean(diffs[rng.randrange(n)] for _ in range(n)) for _ in range(samples))
    return {"mean_diff": round(statistics.fmean(diffs), 4), "ci95_low": round(means[int(0.025 * samples)], 4),
            "ci95_high": round(means[int(0.975 * samples) - 1], 4),
            "p_not_better": round(sum(m <= 0 for m in means) / samples, 4)}


def index_with_progress(corpus_dir: Any, index_dir: Any, encoder: Any, log: Any, *,
                        step: int = 10) -> tuple[Any, dict[str, Any]]:
    """Bring ``index_dir`` up to date for ``corpus_dir`` with ``encoder``, logging each stage every ``step``
    percent. Returns the IndexSummary and its report form (skipped files cut to 20, wall seconds)."""
    import dataclasses
    import time

    from indexer.pipeline import index_repository

    last = {"stage": "", "pct": -1}

    def progress(stage: str, done: int, total: int) -> None:
        pct = int(100 * done / max(total, 1)) // step * step
        if (stage, pct) != (last["stage"], last["pct"]):
            last.update(stage=stage, pct=pct)
            log(f"  {stage}: {done}/{total}")

    started = time.perf_counter()
    summary = index_repository(corpus_dir, str(index_dir), encoder=encoder, progress=progress)
    info = dataclasses.asdict(summary)
    info["skipped_files"] = info["skipped_files"][:20]
    info["wall_s"] = round(time.perf_counter() - started, 2)
    return summary, info


def write_reports(report: dict[str, Any], json_out: Any = None, md_out: Any = None,
                  markdown: Any = None) -> None:
    """A benchmark's JSON report and, with ``markdown`` (report -> text), its Markdown one; either path
    may be None. Folders are made as needed; each file written is named on stderr."""
    import json
    import sys
    from pathlib import Path

    for path, text in ((json_out, lambda: json.dumps(report, indent=1) + "\n"),
                       (md_out, lambda: markdown(report))):
        if path:
            path = Path(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text())
            print(f"wrote {path}", file=sys.stderr)
