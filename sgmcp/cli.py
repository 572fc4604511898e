"""The ``sgmcp`` command line: index a repository, query it, serve it to agents."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable

os.environ.setdefault("LANCEDB_LOG", "error")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = _build_parser()
    if argv and argv[0] in ("train", "eval"):  # their own CLIs parse the rest, -h included
        args = argparse.Namespace(func=cmd_train if argv[0] == "train" else cmd_eval, rest=argv[1:])
    else:
        args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("sgmcp: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # a user's mistake is one clear line, not a traceback
        if os.environ.get("SGMCP_DEBUG"):
            raise
        print(f"sgmcp: error: {err}", file=sys.stderr)
        return 2


def _build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sgmcp", description="Code search for AI coding agents.")
    sub = p.add_subparsers(dest="command", required=True)

    ix = sub.add_parser("index", help="index (or update the index of) a repository")
    ix.add_argument("path")
    _index_options(ix)
    _max_file_bytes_option(ix)
    ix.add_argument("--no-vectors", action="store_true",
                    help="structural index only (symbols, references, BM25): fast, no semantic search")
    ix.add_argument("--json", action="store_true", help="print the summary as JSON")
    ix.add_argument("--verbose", "-v", action="store_true", help="list every skipped file with its reason")
    ix.set_defaults(func=cmd_index)

    im = sub.add_parser("index-many", help="index many repositories at once (local processes or a Ray cluster)")
    im.add_argument("paths", nargs="*", help="repository roots")
    im.add_argument("--from-file", default=None, help="a file listing repository roots, one a line")
    im.add_argument("--index-root", default=None,
                    help="each index goes to URI/<repo-name> (any LanceDB URI, s3://... included); "
                         "default: each repository's own .sgmcp")
    im.add_argument("--backend", choices=("local", "ray"), default="local")
    im.add_argument("--ray-address", default=None, help="Ray cluster to use (default $RAY_ADDRESS, else a "
                    "local instance)")
    im.add_argument("--workers", type=int, default=None,
                    help="repositories indexed at once (local; CPUs of a local Ray instance)")
    im.add_argument("--cpus-per-task", type=int, default=1, help="CPUs per repository task (ray)")
    _max_file_bytes_option(im)
    im.add_argument("--model", default=None, help="encoder for vectors: 'default', 'base' or a directory")
    im.add_argument("--no-vectors", action="store_true", help="structural index only (symbols, references, BM25)")
    im.add_argument("--json", action="store_true", help="print every result and the total as JSON")
    im.set_defaults(func=cmd_index_many)

    for name, helptext, arg, func in (
        ("search", "search code by words or description", "query", cmd_search),
        ("definition", "where is a symbol defined", "symbol", cmd_definition),
        ("usages", "where is a symbol used or called", "symbol", cmd_usages),
        ("outline", "the definitions of one file", "file", cmd_outline),
    ):
        q = sub.add_parser(name, help=helptext)
        q.add_argument("path", help="repository root")
        q.add_argument(arg)
        _index_options(q)
        q.add_argument("--k", type=int, default={"usages": 50, "definition": 5}.get(name, 10))
        q.add_argument("--json", action="store_true", help="print the structured result the MCP tool returns")
        q.set_defaults(func=func)

    sv = sub.add_parser("serve", help="serve the repository to agents over MCP (stdio or HTTP)")
    sv.add_argument("--repo", default=".", help="repository root (default: the current directory)")
    _index_options(sv)
    sv.add_argument("--transport", choices=("stdio", "http"), default="stdio")
    sv.add_argument("--host", default="127.0.0.1", help="HTTP bind address (non-loopback needs $SGMCP_TOKEN)")
    sv.add_argument("--port", type=int, default=8765)
    sv.add_argument("--no-watch", action="store_true",
                    help="answer from the index as it is: no update at start, no file watching")
    sv.set_defaults(func=cmd_serve)

    wt = sub.add_parser("watch", help="keep the index of PATH current as files change (no server)")
    wt.add_argument("path")
    _index_options(wt)
    wt.add_argument("--no-vectors", action="store_true", help="structural index only")
    wt.set_defaults(func=cmd_watch)

    for name, helptext in (("train", "mine pairs, fine-tune the encoder, export an adapter (see `sgmcp train -h`)"),
                           ("eval", "benchmarks, query suites, transcript replay, reports (see `sgmcp eval -h`)")):
        sp = sub.add_parser(name, help=helptext, add_help=False)
        sp.add_argument("rest", nargs=argparse.REMAINDER)
        sp.set_defaults(func=cmd_train if name == "train" else cmd_eval)

    st = sub.add_parser("status", help="what the index holds")
    st.add_argument("path")
    _index_options(st)
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=cmd_status)
    return p


def _index_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index-dir", default=None, help="index location (default PATH/.sgmcp, or $SGMCP_INDEX_DIR)")
    p.add_argument("--model", default=None,
                   help="encoder: 'default', 'base' (untrained) or a model/adapter directory ($SGMCP_MODEL)")


def _max_file_bytes_option(p: argparse.ArgumentParser) -> None:
    # indexer.discover.DEFAULT_MAX_FILE_BYTES (tests/test_discover.py ties them), not imported here: this parser
    # is built for `serve` too, whose start-up must not load the indexing code
    p.add_argument("--max-file-bytes", type=int, default=1 << 20, help="skip larger files (default 1 MiB)")


def _progress_bar() -> Callable[[str, int, int], None] | None:
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def update(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=stage, unit="file" if stage == "parse" else "chunk",
                                     file=sys.stderr, leave=False)
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()

    return update


def cmd_index(args: argparse.Namespace) -> int:
    from indexer.pipeline import index_repository

    encoder = None
    if not args.no_vectors:
        from indexer.encoder import load_encoder

        encoder = load_encoder(args.model)
    s = index_repository(args.path, args.index_dir, encoder=encoder, max_file_bytes=args.max_file_bytes,
                         progress=_progress_bar())
    _save_start_copy(args.path, s.index_dir)
    if args.json:
        from dataclasses import asdict

        out = asdict(s)
        if not args.verbose:
            out.pop("skipped_files")
        print(json.dumps(out, indent=2))
        return 0
    for note in s.notes:
        print(f"note: {note}", file=sys.stderr)
    skipped = sum(s.skipped.values())
    print(f"indexed {s.root} -> {s.index_dir}")
    print(f"  files {s.files} ({s.parsed} parsed, {s.unchanged} unchanged, {s.deleted} deleted), "
          f"lines {s.lines}, chunks {s.chunks}, symbols {s.symbols}, references {s.references}, "
          f"imports {s.imports}")
    if s.syntax_errors:
        print(f"  {s.syntax_errors} files had syntax errors (indexed as far as they parse)")
    print(f"  skipped {skipped}" + (": " + ", ".join(f"{r} {n}" for r, n in sorted(s.skipped.items())) if skipped else ""))
    if args.verbose:
        for path, reason in s.skipped_files:
            print(f"    {path}: {reason}")
    if s.embedded:
        print(f"  embedded {s.embedded} chunks")
    print(f"  {s.seconds:.2f} s")
    return 0


def _save_start_copy(root: str, index_dir: str) -> None:
    """The graph's start-up copy, so that the first ``sgmcp serve`` on this index answers within a second
    (a server writes it too, once warm). Only an optimisation: a failure is noted and ignored."""
    from .engine import Engine

    try:
        Engine(root, index_dir).save_start_cache()
    except Exception as err:
        print(f"note: no start-up copy written ({type(err).__name__}: {err})", file=sys.stderr)


def cmd_index_many(args: argparse.Namespace) -> int:
    """One line per repository as it finishes, then a total; exit status 1 if any failed."""
    from indexer.bulk import bulk_index, plan_jobs, repo_name

    repos = list(args.paths)
    if args.from_file:
        with open(args.from_file, encoding="utf-8") as f:
            repos += [line.strip() for line in f if line.strip() and not line.lstrip().startswith("#")]
    if not repos:
        raise ValueError("no repositories: give paths or --from-file")
    jobs = plan_jobs(repos, args.index_root)
    spec = None if args.no_vectors else (args.model or os.environ.get("SGMCP_MODEL") or "default")
    started = time.perf_counter()
    results = []
    for r in bulk_index(jobs, backend=args.backend, encoder_spec=spec, workers=args.workers,
                        ray_address=args.ray_address, cpus_per_task=args.cpus_per_task,
                        max_file_bytes=args.max_file_bytes):
        results.append(r)
        if not args.json:
            name = repo_name(r.repo)
            if r.ok:
                print(f"ok    {name}: files {r.files}, lines {r.lines}, chunks {r.chunks}, symbols {r.symbols}"
                      + (f", embedded {r.embedded}" if r.embedded else "")
                      + f", {r.seconds:.1f} s -> {r.index_uri}",
                      flush=True)
            else:
                print(f"FAIL  {name}: {r.error}", flush=True)
    wall = time.perf_counter() - started
    failed = [r for r in results if not r.ok]
    total = {"repositories": len(results), "ok": len(results) - len(failed), "failed": len(failed),
             "files": sum(r.files for r in results), "lines": sum(r.lines for r in results),
             "chunks": sum(r.chunks for r in results), "task_seconds": round(sum(r.seconds for r in results), 3),
             "wall_seconds": round(wall, 3), "backend": args.backend}
    if args.json:
        print(json.dumps({"results": [r.to_dict() for r in results], "total": total}, indent=2))
    else:
        print(f"total: {total['ok']}/{total['repositories']} ok, files {total['files']}, lines {total['lines']}, "
              f"chunks {total['chunks']}, {wall:.1f} s wall ({total['task_seconds']:.1f} s in tasks, "
              f"{args.backend})")
    return 1 if failed else 0


def _engine(args: argparse.Namespace):
    from .engine import Engine

    return Engine(args.path, args.index_dir, model=args.model)


def _emit(args: argparse.Namespace, engine, query: str, intent: str, run: Callable[[], list]) -> int:
    started = time.perf_counter()
    response = engine.respond(query, intent, run(), started)
    if args.json:
        print(response.model_dump_json(indent=2))
        return 0
    if not response.results:
        print("no results")
    for r in response.results:
        where = f"{r.path}:{r.line or r.start_line}"
        print(f"{where}  {r.kind} {r.symbol}  [{r.start_line}-{r.end_line}]  score {r.score:g}")
        print("\n".join("    " + line for line in r.snippet.splitlines()))
    print(f"({len(response.results)} results, {response.took_ms:.1f} ms)", file=sys.stderr)
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    engine = _engine(args)
    return _emit(args, engine, args.query, "find_implementation", lambda: engine.semantic_search(args.query, args.k))


def cmd_definition(args: argparse.Namespace) -> int:
    engine = _engine(args)
    return _emit(args, engine, args.symbol, "find_definition", lambda: engine.find_definition(args.symbol, args.k))


def cmd_usages(args: argparse.Namespace) -> int:
    engine = _engine(args)
    return _emit(args, engine, args.symbol, "find_usage", lambda: engine.find_usages(args.symbol, args.k))


def cmd_outline(args: argparse.Namespace) -> int:
    engine = _engine(args)
    return _emit(args, engine, args.file, "outline", lambda: engine.outline(args.file))


def cmd_serve(args: argparse.Namespace) -> int:
    import gc
    import logging

    # Start-up makes only long-lived objects (the SDK's models, the index); collecting among them cost
    # 10-15% of the time to a first answer. serve() freezes them and turns the collector back on.
    gc.disable()
    from .server import serve

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)  # stdout belongs to the protocol
    serve(args.repo, index_dir=args.index_dir, model=args.model, transport=args.transport, host=args.host,
          port=args.port, watch=not args.no_watch)
    return 0


def cmd_watch(args: argparse.Namespace) -> int:
    from indexer.watch import Watcher

    encoder = None
    if not args.no_vectors:
        from indexer.encoder import load_encoder

        encoder = load_encoder(args.model)

    def report(s) -> None:
        print(f"{time.strftime('%H:%M:%S')} applied: {s.parsed} parsed, {s.deleted} deleted, "
              f"{s.embedded} embedded in {s.seconds * 1000:.0f} ms", file=sys.stderr)

    with Watcher(args.path, args.index_dir, encoder=encoder, on_batch=report):
        print(f"watching {os.path.abspath(args.path)} (Ctrl-C to stop)", file=sys.stderr)
        while True:
            time.sleep(3600)


def cmd_train(args: argparse.Namespace) -> int:
    from trainer.cli import main as train_main

    return train_main(args.rest) or 0


def cmd_eval(args: argparse.Namespace) -> int:
    from evals.cli import main as eval_main

    return eval_main(args.rest) or 0


def cmd_status(args: argparse.Namespace) -> int:
    state = _engine(args).state()
    if args.json:
        print(state.model_dump_json(indent=2))
    else:
        for key, value in state.model_dump().items():
            print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
