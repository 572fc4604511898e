"""Query latency at 10k and 100k chunks, query encoding included, on the real query path.

    python -m evals.bench_latency [--sizes 10000 100000] [--queries 200] [--json OUT]

The chunks, symbols, references and BM25 text are real code (the pinned sdists of evals.bench_watch).
Embedding 100k chunks on 2 CPU cores takes the better part of an hour, and the cost of a search does not
depend on what the stored vectors say, so the *stored* code vectors here are deterministic random unit
vectors (``TimingEncoder``, a name of its own so such an index is never mistaken for a real one). Queries are
encoded by the real model, one torch thread, as the server does. Quality is measured elsewhere (CoSQA, CSN,
the agentic suites); this measures time only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from evals.fetch import fetch
from indexer.encoder import load_encoder
from indexer.pipeline import index_repository
from sgmcp.engine import Engine


# Smallest first, so that the first package alone is near 10k chunks and all four near 100k.
PACKAGES = ("networkx==3.4.2", "numpy==2.1.3", "pandas==2.2.3", "django==5.2.8")


class TimingEncoder:
    """Real query vectors, random (hash-seeded) code vectors."""

    def __init__(self) -> None:
        self.real = load_encoder("base")
        self.name, self.dim, self.max_length = "timing-random-code-vectors", self.real.dim, self.real.max_length

    def embed_queries(self, texts):
        return self.real.embed_queries(texts)

    def embed_code(self, texts, progress=None):
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(text.encode("utf-8", "replace"), digest_size=8).digest(), "little")
            v = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
            out[i] = v / np.linalg.norm(v)
        return out


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _build(root: Path, target_chunks: int, ix: str, encoder: TimingEncoder) -> dict[str, Any]:
    """Copy packages into ``root`` until the index holds about ``target_chunks`` chunks."""
    summary = None
    for spec in PACKAGES:
        src = fetch(spec)
        shutil.copytree(src, root / src.name, symlinks=True)
        summary = index_repository(root, ix, encoder=encoder)
        if summary.chunks >= target_chunks:
            break
    assert summary is not None
    return {"files": summary.files, "chunks": summary.chunks, "symbols": summary.symbols,
            "references": summary.references, "lines": summary.lines}


def _queries(engine: Engine, n: int) -> dict[str, list[str]]:
    rng = random.Random(5)
    symbols = [s for s in engine.graph.symbols.values() if s.kind in ("function", "method", "class")]
    picked = rng.sample(symbols, min(n, len(symbols)))
    docs = [s.doc for s in symbols if len(s.doc.split()) >= 5]
    return {"names": [s.name for s in picked],
            "descriptions": [d.split(".")[0][:200] for d in rng.sample(docs, min(n, len(docs)))]}


def measure(engine: Engine, queries: dict[str, list[str]]) -> dict[str, dict[str, float]]:
    runs = {
        "find_definition": [lambda q=q: engine.find_definition(q, 5) for q in queries["names"]],
        "find_usages": [lambda q=q: engine.find_usages(q, 50) for q in queries["names"]],
        "semantic_search": [lambda q=q: engine.semantic_search(q, 10) for q in queries["descriptions"]],
    }
    out = {}
    for tool, calls in runs.items():
        times = []
        for call in calls:
            t0 = time.perf_counter()
            call()
            times.append((time.perf_counter() - t0) * 1000)
        out[tool] = {"n": len(times), "p50_ms": _pct(times, 0.5), "p99_ms": _pct(times, 0.99),
                     "mean_ms": statistics.fmean(times)}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.bench_latency", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)  # as the server does
    encoder = TimingEncoder()
    result: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "sizes": []}
    for size in args.sizes:
        work = Path(tempfile.mkdtemp(prefix="sgmcp-latency-"))
        try:
            root, ix = work / "repo", str(work / "ix")
            root.mkdir()
            t0 = time.perf_counter()
            built = _build(root, size, ix, encoder)
            built["build_s"] = time.perf_counter() - t0
            engine = Engine(root, ix, encoder=encoder)
            t0 = time.perf_counter()
            engine.refresh()
            engine.graph  # noqa: B018
            engine.chunks  # noqa: B018
            built["load_s"] = time.perf_counter() - t0
            queries = _queries(engine, args.queries)
            engine.semantic_search("warm up", 10)
            built["latency"] = measure(engine, queries)
            built["target_chunks"] = size
            result["sizes"].append(built)
            print(json.dumps(built, indent=2), flush=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
