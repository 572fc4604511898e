"""Server start-up: a fresh ``sgmcp serve`` process, timed through the official MCP client.

    python -m evals.bench_startup [--package networkx==3.4.2] [--runs 5] [--no-watch] [--json OUT]

For a real repository (a pinned sdist from PyPI, structural index built once) it spawns the stdio server
``--runs`` times with the start-up copy of the graph (``sgmcp/startcache.py``) and ``--runs`` times
without it (the copy deleted before each start), and reports, from the spawn: the ``initialize``
answer, the tool list, and the first ``find_definition`` answer. Target: first answer under 1 s.
The server runs as an agent's settings start it, watcher on, unless ``--no-watch``.

Our packages' bytecode is compiled first, as ``pip install`` does for an installed package (an editable
install writes it on first import, unless ``PYTHONDONTWRITEBYTECODE`` is set, as in some sandboxes:
compiling sgmcp and indexer from source on every start cost ~90 ms here).
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from evals.fetch import fetch
from indexer.pipeline import index_repository


async def _one_start(root: Path, symbol: str, watch: bool) -> dict[str, float]:
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    env = {**os.environ, "LANCEDB_LOG": "error", "HF_HUB_OFFLINE": "1"}
    params = StdioServerParameters(command=sys.executable, env=env,
                                   args=["-m", "sgmcp", "serve", "--repo", str(root),
                                         *([] if watch else ["--no-watch"])])
    t0 = time.perf_counter()
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            t_init = time.perf_counter() - t0
            await session.list_tools()
            t_tools = time.perf_counter() - t0
            res = await session.call_tool("find_definition", {"symbol": symbol})
            t_first = time.perf_counter() - t0
            if res.is_error or not res.structured_content["results"]:
                raise RuntimeError(f"find_definition({symbol!r}) failed: {res.content}")
    return {"initialize_s": t_init, "tools_s": t_tools, "first_answer_s": t_first}


def _summary(runs: list[dict[str, float]]) -> dict[str, Any]:
    return {key: {"min": min(r[key] for r in runs), "median": statistics.median(r[key] for r in runs)}
            for key in runs[0]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.bench_startup", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--package", default="networkx==3.4.2")
    ap.add_argument("--symbol", default="shortest_path")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-watch", action="store_true", help="start the server without its watcher")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)

    for package in ("sgmcp", "indexer"):
        compileall.compile_dir(Path(__file__).resolve().parent.parent / package, quiet=1)
    work = Path(tempfile.mkdtemp(prefix="sgmcp-startup-"))
    try:
        root = work / "repo"
        shutil.copytree(fetch(args.package), root, symlinks=True)
        summary = index_repository(root)
        watch = not args.no_watch
        result: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                                  "package": args.package, "files": summary.files, "symbols": summary.symbols,
                                  "watch": watch, "load_average": os.getloadavg()}
        index = root / ".sgmcp"
        for mode in ("with_start_cache", "without_start_cache"):
            runs = []
            asyncio.run(_one_start(root, args.symbol, watch))  # writes the copy; warms the page cache
            for _ in range(args.runs):
                if mode == "without_start_cache":
                    for f in index.glob("startcache*"):
                        f.unlink()
                elif not (index / "startcache.json").exists():
                    raise RuntimeError("the server wrote no start-up copy")
                runs.append(asyncio.run(_one_start(root, args.symbol, watch)))
            result[mode] = _summary(runs)
            print(mode, json.dumps(result[mode]), file=sys.stderr, flush=True)
        result["load_average_after"] = os.getloadavg()
        print(json.dumps(result, indent=2))
        if args.json:
            args.json.write_text(json.dumps(result, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
