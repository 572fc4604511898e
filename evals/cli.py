"""``sgmcp eval``: query suites, transcript replay, reports and comparisons, corpora.

    sgmcp eval suite FILE [FILE...] [--repo PATH] [--json OUT] [--reports DIR]
    sgmcp eval replay TRANSCRIPT [TRANSCRIPT...] --repo PATH [--json OUT] [--reports DIR]
    sgmcp eval compare BEFORE.json AFTER.json [--out DELTA.md]
    sgmcp eval corpora fetch|list|path ...
    sgmcp eval check-gold [SUITE...]

(``python -m evals.cli ...`` is the same.)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_REPORTS = Path(__file__).resolve().parent / "reports"


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index-dir", default=None, help="index location (default REPO/.sgmcp)")
    p.add_argument("--model", default=None, help="encoder: 'default', 'base' or a model/adapter directory")
    p.add_argument("--no-vectors", action="store_true",
                   help="structural index only (build it if missing; an existing index is used as it is)")
    p.add_argument("--no-index", action="store_true", help="do not touch the index; serve it as it is")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds per tool call")
    p.add_argument("--json", dest="json_out", default=None, help="write the JSON report here")
    p.add_argument("--reports", default=None,
                   help=f"write NAME.md, NAME.json and PNG plots to this folder (e.g. {DEFAULT_REPORTS}/suite)")
    p.add_argument("--name", default=None, help="file name stem of the reports (default: suite / replay)")
    p.add_argument("--quiet", "-q", action="store_true", help="no per-query progress lines")


def _build() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="sgmcp eval", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("suite", help="run query suites through the MCP client against `sgmcp serve`")
    s.add_argument("files", nargs="+", help="suite JSONL files (evals/suites/*.jsonl)")
    s.add_argument("--repo", default=None,
                   help="repository root (one suite); default: the corpus named like each suite file, fetched")
    s.add_argument("--k", type=int, default=10, help="results asked for ranked tools (default 10)")
    s.add_argument("--usages-k", type=int, default=50, help="results asked of find_usages (default 50)")
    s.add_argument("--intent", action="append", default=None, help="only these intents (repeatable)")
    s.add_argument("--limit", type=int, default=None, help="only the first N queries of each suite")
    s.add_argument("--no-context-ablation", action="store_true",
                   help="do not ask context queries a second time without their context (no context gain)")
    _common(s)

    r = sub.add_parser("replay", help="replay sgmcp transcripts or Claude Code sessions and score them")
    r.add_argument("files", nargs="+", help="transcripts (sgmcp JSONL or Claude Code session JSONL)")
    r.add_argument("--repo", required=True, help="the repository the sessions worked in")
    r.add_argument("--server-name", default=None, help="only mcp__NAME__* tool calls (default: any server name)")
    r.add_argument("--window", choices=("next-call", "session"), default="next-call",
                   help="Claude Code: files read/edited up to the next call of our tools (default) or to the end")
    _common(r)

    c = sub.add_parser("compare", help="Markdown table of the differences between two JSON reports")
    c.add_argument("before")
    c.add_argument("after")
    c.add_argument("--out", default=None, help="write the Markdown here (default: stdout)")

    co = sub.add_parser("corpora", help="fetch or list the pinned suite corpora", add_help=False)
    co.add_argument("rest", nargs=argparse.REMAINDER)
    g = sub.add_parser("check-gold", help="verify the suites' gold against the corpora", add_help=False)
    g.add_argument("rest", nargs=argparse.REMAINDER)
    for name, helptext in _BENCHMARKS.items():
        b = sub.add_parser(name, help=helptext[1], add_help=False)
        b.add_argument("rest", nargs=argparse.REMAINDER)
    return ap


# Benchmarks with their own argument parsers: `sgmcp eval NAME ...` runs `python -m MODULE ...`.
_BENCHMARKS = {
    "cosqa": ("evals.cosqa", "CoSQA dev retrieval: dense, BM25 and hybrid MRR / Acc@1"),
    "csn": ("evals.csn", "CodeSearchNet protocol per language on held-out pinned packages"),
    "views": ("evals.views", "structure / symbol views beside the text vector, weights tuned on dev halves"),
    "tune-fusion": ("evals.tune_fusion", "tune the hybrid fusion weights on CoSQA dev (tune/check halves)"),
    "latency": ("evals.bench_latency", "query latency at ~10k and ~100k chunks"),
    "encoder": ("evals.bench_encoder", "encoder throughput: code chunks/s and one-query latency per setting"),
    "startup": ("evals.bench_startup", "server start-up to first answer, with and without the start-up copy"),
    "index": ("evals.bench_index", "structural indexing speed, memory and one-file updates"),
    "watch": ("evals.bench_watch", "index freshness under the watcher, branch switches"),
    "intents": ("evals.intent_eval", "intent classifier accuracy and latency"),
}


def _emit(report: dict, args: argparse.Namespace, default_name: str) -> None:
    from .report import markdown, write_reports
    from .suite import dump_json

    if args.json_out:
        dump_json(report, args.json_out)
        print(f"wrote {args.json_out}", file=sys.stderr)
    if args.reports:
        paths = write_reports(report, args.reports, args.name or default_name)
        print("wrote " + ", ".join(paths.values()), file=sys.stderr)
        print(Path(paths["markdown"]).read_text())
    else:
        print(markdown(report, plot_note="Plots: pass --reports DIR."))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "corpora":
        from .corpora import main as corpora_main

        return corpora_main(argv[1:])
    if argv and argv[0] == "check-gold":
        from .check_gold import main as check_main

        return check_main(argv[1:])
    if argv and argv[0] in _BENCHMARKS:
        import importlib

        return importlib.import_module(_BENCHMARKS[argv[0]][0]).main(argv[1:]) or 0
    args = _build().parse_args(argv)
    if args.cmd == "compare":
        from .report import compare

        text = compare(args.before, args.after)
        if args.out:
            Path(args.out).write_text(text, encoding="utf-8")
            print(f"wrote {args.out}", file=sys.stderr)
        else:
            print(text)
        return 0
    if args.cmd == "suite":
        from .suite import run_suites

        report = run_suites(args.files, args.repo, index_dir=args.index_dir, model=args.model,
                            vectors=not args.no_vectors, index=not args.no_index, k=args.k, usages_k=args.usages_k,
                            intents=args.intent, limit=args.limit, timeout=args.timeout,
                            context_ablation=not args.no_context_ablation, quiet=args.quiet)
        _emit(report, args, "suite")
        return 0 if report["overall"]["errors"] == 0 else 1
    if args.cmd == "replay":
        from .replay import run_replay

        report = run_replay(args.files, args.repo, index_dir=args.index_dir, model=args.model,
                            vectors=not args.no_vectors, index=not args.no_index, server=args.server_name,
                            window=args.window, timeout=args.timeout, quiet=args.quiet)
        _emit(report, args, "replay")
        return 0 if report["overall"]["errors"] == 0 else 1
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
