"""CodeSearchNet protocol on real code: a function's doc (first sentence) -> that function, the doc stripped from it.

The pairs are the trainer's held-out **test** split (``evals/data/trainer/dataset/test.jsonl.gz``, mined by
``python -m trainer mine`` from pinned PyPI / npm / Debian packages that are never trained on: boltons and
sortedcontainers, serde_json and url, go-chi and afero, commons-io and commons-codec, mobx and @trpc/server,
express and commander, CLI11 and cxxopts). Only the ``doc`` queries are used, not the synthetic
name/signature descriptions (``query_kind == "name"``).

Per language, every test function of that language (those with only a name query too, as in
``trainer/evaluate.py``) is written to its own file (``f{n}.py``, ``.rs``, ``.go``, ``.ts``, ``.js``,
``.java``, ``.cpp``) in a work directory outside the repository, without its doc (``mine.py`` removed it).
The code is the full function the miner kept (re-derived from the unpacked packages with
``trainer.mine.mine_source``, since the dataset's ``document`` is cut at the embedding limit); it is
dedented, and when the bare function does not parse cleanly as one definition (a JS/TS class method, a Java
constructor), it is wrapped in ``class C_{n} { ... }`` (``impl`` for Rust, ``struct`` for C++; an
object-literal property ``key: () => {...},`` in ``const C_{n} = { ... };``). The report counts the
layouts and, from the index itself, the chunks per file. Each directory is indexed with the real pipeline
(``index_repository(dir, index, encoder=load_encoder(model))``, incremental) and each query is ranked by
one :class:`sgmcp.engine.Engine` over all functions of its language, through :func:`evals.cosqa.evaluate`
(same code paths: ``dense`` and ``bm25`` alone through the product's fusion, code rules and overlap drop;
``hybrid`` = ``Engine.semantic_search``; ``lexical`` = ``Engine.lexical_search`` as an extra), top 100
files. The gold is the query's own file. The function's name stays in its code (as in CSN), so a doc that
repeats the name is easier. MRR, P@1, NDCG@10 and R@10 per language and their macro average.

    python -m evals.csn --model base --json /tmp/csn-base.json
    python -m evals.csn --model base --model evals/data/trainer/runs/gpu/export --languages python go
    python -m evals.csn --merge /tmp/csn-base.json /tmp/csn-adapter.json --json evals/reports/csn.json \\
        --md evals/reports/csn.md
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from evals.common import git_head, index_with_progress, machine, write_reports
from evals.cosqa import K, _slug, evaluate  # (importing cosqa also sets the offline/lancedb environment)

LANGUAGES = ("python", "rust", "go", "typescript", "javascript", "java", "cpp")
EXTENSIONS = {"python": ".py", "rust": ".rs", "go": ".go", "typescript": ".ts", "javascript": ".js",
              "java": ".java", "cpp": ".cpp"}
# For a function that does not parse on its own as one definition (a method, an object-literal property):
# containers to try around it, in order.
_CLASS = "class {name} {{\n{body}}}\n"
_OBJECT = "const {name} = {{\n{body}}};\n"
WRAPPERS = {"python": ("class {name}:\n{body}",), "rust": ("impl {name} {{\n{body}}}\n",),
            "typescript": (_CLASS, _OBJECT), "javascript": (_CLASS, _OBJECT), "java": (_CLASS,),
            "cpp": ("struct {name} {{\n{body}}};\n",)}
CALLABLE = ("function", "method")
REPORT_MODES = ("dense", "bm25", "hybrid", "lexical")
SHOWN = (("mrr", "MRR"), ("p@1", "P@1"), ("ndcg@10", "NDCG@10"), ("r@10", "R@10"))
DEFAULT_WORK = Path(os.environ.get("TMPDIR", "/tmp")) / "sgmcp-csn"


# ---- data --------------------------------------------------------------------------------------
def load_test_rows(data_dir: Path | None = None) -> list[dict[str, Any]]:
    from trainer.common import DATASET_DIR, read_jsonl, split_file

    return list(read_jsonl(split_file(Path(data_dir or DATASET_DIR), "test")))


def full_code(rows: list[dict[str, Any]], log=lambda *a: None) -> dict[str, str]:
    """code_id -> the function the miner kept (doc removed), re-mined from the unpacked test packages.
    ``code_id`` is the hash of the document mine.py built from that code, so a match is exact."""
    from trainer.common import DATA_ROOT
    from trainer.mine import MineConfig, mine_source
    from trainer.sources import Fetched, load_sources

    wanted = {r["code_id"] for r in rows}
    sources = {r["source"] for r in rows}
    out: dict[str, str] = {}
    for src in load_sources():
        if src.name not in sources:
            continue
        root = DATA_ROOT / "src" / src.slug
        root = root / src.root if src.root else root
        if not root.is_dir():
            log(f"  {src.name}: not unpacked at {root} (python -m trainer mine fetches it)")
            continue
        pairs, _ = mine_source(Fetched(src, root), MineConfig(), log=lambda *a: None)
        out.update((p.code_id, p.code) for p in pairs if p.code_id in wanted)
    return out


def code_from_document(document: str) -> str:
    """Fallback when a package is not unpacked: the document less its ``path: name`` line (the signature
    line stays; the code may be cut at the embedding limit)."""
    return document.split("\n", 1)[1] if "\n" in document else document


def load_benchmark(languages: Sequence[str], data_dir: Path | None = None, *, limit: int | None = None,
                   log=lambda *a: None) -> dict[str, dict[str, Any]]:
    """language -> {"functions": {code_id: row}, "code": {code_id: code}, "queries": [doc rows]}."""
    rows = [r for r in load_test_rows(data_dir) if r["language"] in languages]
    code = full_code(rows, log)
    out: dict[str, dict[str, Any]] = {}
    for lang in languages:
        mine = [r for r in rows if r["language"] == lang]
        functions: dict[str, dict[str, Any]] = {}
        for r in mine:
            functions.setdefault(r["code_id"], r)
        queries = [r for r in mine if r["query_kind"] == "doc"]
        out[lang] = {"functions": functions, "queries": queries[:limit] if limit is not None else queries,
                     "code": {cid: code.get(cid) or code_from_document(r["document"]) for cid, r in functions.items()},
                     "from_document": sum(cid not in code for cid in functions)}
    return out


# ---- corpus files ------------------------------------------------------------------------------
def _covers(path: str, text: str, first: int, last: int) -> tuple[bool, bool]:
    """Whether ``text`` parses (as the indexer parses it) into a function/method spanning lines
    ``first``..``last`` (1-based) -- at least half of them and the last -- with no loose module code among
    them (a wrapper's own lines may be module code: ``const C_1 = {`` is); and whether it parsed cleanly."""
    from indexer.parser import parse_file

    parsed = parse_file(path, text.encode("utf-8", "surrogatepass"))
    span = last - first + 1
    ok = any(c.kind in CALLABLE and c.end_line >= last and c.start_line >= first
             and (c.end_line - max(c.start_line, first) + 1) * 2 >= span for c in parsed.chunks)
    loose = any(c.kind == "module" and c.start_line <= last and c.end_line >= first for c in parsed.chunks)
    return ok and not loose, not parsed.syntax_errors


def layout(code: str, language: str, name: str) -> tuple[str, str]:
    """The file text for one function and how it was laid out: ``bare``, ``wrapped`` (in the first
    container of ``WRAPPERS`` that makes it one definition) or ``unparsed`` (written bare anyway; counted in
    the report). A layout that parses without syntax errors is preferred to one that needs error recovery
    (``get: function() {...}`` is an object property, not a class member)."""
    text = textwrap.dedent(code).strip("\n") + "\n"
    path = name + EXTENSIONS[language]
    lines = text.count("\n")
    candidates = [(text, "bare", 1)] + [
        (w.format(name=f"C_{name.lstrip('f')}", body=textwrap.indent(text, "    ", lambda s: True)), "wrapped", 2)
        for w in WRAPPERS.get(language, ())]
    recovered = None
    for candidate, how, first in candidates:
        ok, clean = _covers(path, candidate, first, first + lines - 1)
        if ok and clean:
            return candidate, how
        if ok and recovered is None:
            recovered = (candidate, how)
    return recovered or (text, "unparsed")


def write_language(functions: dict[str, str], language: str, corpus_dir: Path) -> tuple[dict[str, str], dict[str, Any]]:
    """One file per function, ``f{n}{ext}`` by sorted code_id; files already holding the same text are left
    alone (mtime kept, so the incremental indexer skips them). Returns code_id -> file name and stats."""
    corpus_dir.mkdir(parents=True, exist_ok=True)
    names: dict[str, str] = {}
    how: Counter = Counter()
    written = same = 0
    for n, cid in enumerate(sorted(functions)):
        stem = f"f{n}"
        text, kind = layout(functions[cid], language, stem)
        how[kind] += 1
        names[cid] = stem + EXTENSIONS[language]
        data = text.encode("utf-8", "surrogatepass")
        path = corpus_dir / names[cid]
        try:
            if path.read_bytes() == data:
                same += 1
                continue
        except OSError:
            pass
        path.write_bytes(data)
        written += 1
    wanted = set(names.values())
    removed = 0
    for path in corpus_dir.iterdir():
        if path.name not in wanted and path.is_file():
            path.unlink()
            removed += 1
    return names, {"files": len(names), "written": written, "unchanged": same, "removed": removed,
                   "layout": dict(how)}


def chunk_census(engine: Any) -> dict[str, Any]:
    """From the index itself: chunk kinds, and files by their number of function/method chunks
    (1 = the function alone; more = it has nested functions/closures)."""
    table = engine.snapshot.arrow("chunks", ["path", "kind"]).to_pylist()
    kinds = Counter(r["kind"] for r in table)
    per_file: dict[str, int] = defaultdict(int)
    files = {r["path"] for r in table}
    for r in table:
        if r["kind"] in CALLABLE:
            per_file[r["path"]] += 1
    callables = Counter(min(per_file.get(f, 0), 3) for f in files)
    return {"chunks": len(table), "files_with_chunks": len(files), "kinds": dict(kinds),
            "files_by_callable_chunks": {("3+" if k == 3 else str(k)): v for k, v in sorted(callables.items())}}


# ---- index + engine ----------------------------------------------------------------------------
def prepare_language(work: Path, language: str, functions: dict[str, str], model: str | None, encoder: Any,
                     log=lambda *a: None) -> tuple[Any, dict[str, str], dict[str, Any]]:
    """Write the language's corpus, bring its index up to date with ``encoder``, open an Engine on it."""
    from sgmcp.engine import Engine

    corpus_dir = work / language / "corpus"
    names, corpus_stats = write_language(functions, language, corpus_dir)
    log(f"{language}: corpus {corpus_stats} in {corpus_dir}")
    index_dir = work / language / "index" / _slug(encoder.name)
    summary, info = index_with_progress(corpus_dir, index_dir, encoder, log, step=25)
    info["corpus"] = corpus_stats
    log(f"  index: {summary.files} files, {summary.chunks} chunks, parsed {summary.parsed}, embedded "
        f"{summary.embedded}, syntax errors {summary.syntax_errors}, skipped {summary.skipped} "
        f"in {summary.seconds:.1f}s")
    engine = Engine(corpus_dir, str(index_dir), model=model, encoder=encoder)
    info["census"] = chunk_census(engine)
    log(f"  chunks: {info['census']}")
    return engine, names, info


# ---- run ---------------------------------------------------------------------------------------
def macro(per_language: dict[str, dict[str, Any]]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for mode in REPORT_MODES:
        vals = [r["metrics"][mode] for r in per_language.values() if mode in r["metrics"]]
        if vals:
            out[mode] = {k: round(sum(v[k] for v in vals) / len(vals), 4) for k in vals[0] if k != "n"}
            out[mode]["n"] = sum(v["n"] for v in vals)
    return out


def run_model(model: str | None, bench: dict[str, dict[str, Any]], work: Path, *, weights: dict[str, float] | None,
              log=lambda *a: None) -> dict[str, Any]:
    from indexer.encoder import load_encoder

    encoder = load_encoder(model)
    log(f"== model {model or 'default'}: encoder {encoder.name}")
    started = time.perf_counter()
    per_language: dict[str, Any] = {}
    for lang, data in bench.items():
        engine, names, info = prepare_language(work, lang, data["code"], model, encoder, log)
        if weights:
            engine.weights = {**engine.weights, **weights}
        queries = [{"i": n, "idx": r["id"], "query": r["query"], "gold": names[r["code_id"]]}
                   for n, r in enumerate(data["queries"])]
        log(f"  evaluating {len(queries)} doc queries over {len(names)} {lang} functions")
        t0 = time.perf_counter()
        result = evaluate(engine, queries, quiet=True)
        per_query = [{"id": row["idx"], "gold": row["gold"], **{m: row[m] for m in REPORT_MODES}}
                     for row in result.pop("per_query")]
        per_language[lang] = {"queries": len(queries), "functions": len(names), "from_document": data["from_document"],
                              "index": info, "eval_s": round(time.perf_counter() - t0, 1), **result,
                              "per_query": per_query}
        log("  " + " | ".join(f"{m} MRR {result['metrics'][m]['mrr']:.4f}" for m in REPORT_MODES))
    return {"model": model or os.environ.get("SGMCP_MODEL") or "default", "encoder": encoder.name,
            "weights": engine.weights if bench else None, "seconds": round(time.perf_counter() - started, 1),
            "macro": macro(per_language), "languages": per_language}


def table(run: dict[str, Any], modes: Sequence[str] = REPORT_MODES) -> str:
    """Language x mode: MRR, P@1, NDCG@10, R@10 (top 100), then the macro average over languages."""
    head = "| language | queries / functions | mode | " + " | ".join(label for _, label in SHOWN) + " |"
    lines = [head, "|" + "---|" * (3 + len(SHOWN))]
    rows = [(lang, f"{r['queries']} / {r['functions']}", r["metrics"]) for lang, r in run["languages"].items()]
    n_q = sum(r["queries"] for r in run["languages"].values())
    n_f = sum(r["functions"] for r in run["languages"].values())
    rows.append(("**macro avg**", f"{n_q} / {n_f}", run["macro"]))
    for lang, size, metrics in rows:
        for j, mode in enumerate(m for m in modes if m in metrics):
            vals = " | ".join(f"{metrics[mode][key]:.4f}" for key, _ in SHOWN)
            lines.append(f"| {lang if j == 0 else ''} | {size if j == 0 else ''} | {mode} | {vals} |")
    return "\n".join(lines)


def summary_table(runs: list[dict[str, Any]], metric: str = "mrr",
                  modes: Sequence[str] = ("dense", "bm25", "hybrid")) -> str:
    """Models x modes, one metric, one column per language and the macro average."""
    langs = list(runs[0]["languages"]) if runs else []
    lines = ["| model | mode | " + " | ".join(langs) + " | macro |", "|" + "---|" * (3 + len(langs))]
    for run in runs:
        for mode in modes:
            vals = [run["languages"][lg]["metrics"][mode][metric] for lg in langs] + [run["macro"][mode][metric]]
            lines.append(f"| {run['model']} | {mode} | " + " | ".join(f"{v:.4f}" for v in vals) + " |")
    return "\n".join(lines)


def corpus_table(run: dict[str, Any]) -> str:
    """Per language: what was indexed (layout of the files, chunks, files by function/method chunks)."""
    lines = ["| language | functions | doc queries | files bare / wrapped / unparsed | chunks (kinds) | "
             "files with 1 / 2 / 3+ function chunks | index s | eval s | hybrid p50 ms (k=10) |",
             "|" + "---|" * 9]
    for lang, r in run["languages"].items():
        lay, census = r["index"]["corpus"]["layout"], r["index"]["census"]
        by = census["files_by_callable_chunks"]
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(census["kinds"].items(), key=lambda kv: -kv[1]))
        lines.append(f"| {lang} | {r['functions']} | {r['queries']} | {lay.get('bare', 0)} / {lay.get('wrapped', 0)} / "
                     f"{lay.get('unparsed', 0)} | {census['chunks']} ({kinds}) | {by.get('1', 0)} / {by.get('2', 0)} / "
                     f"{by.get('3+', 0)} | {r['index']['wall_s']} | {r['eval_s']} | "
                     f"{r['latency']['hybrid_k10']['p50_ms']} |")
    return "\n".join(lines)


def paired_table(run: dict[str, Any],
                 pairs: Sequence[tuple[str, str]] = (("dense", "hybrid"), ("bm25", "hybrid"))) -> str:
    """MRR difference of ``b`` over ``a`` per language and over all queries pooled, with a paired bootstrap
    95% interval (reciprocal rank per query; 0 past the top 100)."""
    from evals.common import paired_bootstrap

    def rr(rows: list[dict[str, Any]], mode: str) -> list[float]:
        return [1.0 / r[mode] if r[mode] else 0.0 for r in rows]

    groups = [(lang, r["per_query"]) for lang, r in run["languages"].items()]
    groups.append(("all queries", [q for _, rows in groups for q in rows]))
    lines = ["| language | " + " | ".join(f"{b} - {a} MRR [95% CI]" for a, b in pairs) + " |",
             "|" + "---|" * (1 + len(pairs))]
    for name, rows in groups:
        cells = []
        for a, b in pairs:
            bs = paired_bootstrap(rr(rows, a), rr(rows, b))
            cells.append(f"{bs['mean_diff']:+.4f} [{bs['ci95_low']:+.4f}, {bs['ci95_high']:+.4f}]")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown(report: dict[str, Any]) -> str:
    runs = report["runs"]
    out = [f"# {report['benchmark']}", "",
           f"Generated by `evals/csn.py` ({report.get('git_head') or 'no git'}); machine: {report['machine']['cores']} "
           f"cores ({report['machine']['processor']}, {report['machine']['platform']}), shared with other jobs.", "",
           "## Runs", ""]
    for run in runs:
        out.append(f"- `{run['command']}` -- {run['date']}, encoder `{run['encoder']}`, {run['seconds']} s, "
                   f"load average {run['load_avg_at_start']} -> {run['load_avg_at_end']}; hybrid weights "
                   f"`{json.dumps(run['weights'])}`")
    if report.get("merged"):
        out.append(f"- `{report['merged']}` (this report)")
    out += ["", "## Data", "",
            "Held-out test split of the trainer's dataset (`evals/data/trainer/dataset/test.jsonl.gz`), "
            "`query_kind == doc` only; corpus = all test functions of the language; the gold is the query's own "
            f"file; top {report['k']} files ranked.", "",
            "| language | packages |", "|---|---|"]
    out += [f"| {lang} | {', '.join(srcs)} |" for lang, srcs in report["sources"].items()]
    for metric, label in SHOWN:
        out += ["", f"## {label} by language (macro = mean over languages)", "", summary_table(runs, metric)]
    for run in runs:
        out += ["", f"## {run['model']} (`{run['encoder']}`): all metrics", "", table(run), "",
                "Paired differences (bootstrap over queries):", "", paired_table(run), "",
                "Index and evaluation:", "", corpus_table(run)]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.csn", description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", action="append", default=None,
                    help="encoder: base | default | PATH; repeat to compare (default: $SGMCP_MODEL or default)")
    ap.add_argument("--languages", nargs="+", choices=LANGUAGES, default=list(LANGUAGES), metavar="LANG",
                    help=f"languages (default all: {' '.join(LANGUAGES)})")
    ap.add_argument("--limit", type=int, default=None, help="first N doc queries per language only")
    ap.add_argument("--work", type=Path, default=DEFAULT_WORK, help=f"work directory (default {DEFAULT_WORK})")
    ap.add_argument("--data-dir", type=Path, default=None, help="the trainer's dataset folder (default: its own)")
    ap.add_argument("--weights", default=None, help='JSON merged onto the hybrid weights, e.g. \'{"bm25": 0.2}\'')
    ap.add_argument("--json", dest="json_out", type=Path, default=None, help="write the full report here")
    ap.add_argument("--md", dest="md_out", type=Path, default=None, help="write the tables as markdown here")
    ap.add_argument("--merge", nargs="+", type=Path, default=None, metavar="JSON",
                    help="evaluate nothing: join the runs of these reports (then --json / --md)")
    args = ap.parse_args(argv)
    log = lambda *a: print(*a, file=sys.stderr, flush=True)  # noqa: E731
    command = "python -m evals.csn " + " ".join(argv if argv is not None else sys.argv[1:])

    def save(report: dict[str, Any]) -> None:
        write_reports(report, args.json_out, args.md_out, markdown)

    if args.merge:
        reports = [json.loads(p.read_text()) for p in args.merge]
        runs = [{"date": r["date"], "command": r["command"], "load_avg_at_start": r["machine"]["load_avg_at_start"],
                 "load_avg_at_end": r.get("load_avg_at_end"), **run} for r in reports for run in r["runs"]]
        report = {**reports[0], "runs": runs, "merged": command}
        report.pop("load_avg_at_end", None)
        save(report)
        print(f"MRR\n\n{summary_table(report['runs'])}\n")
        return 0

    box, head = machine(), git_head()
    bench = load_benchmark(args.languages, args.data_dir, limit=args.limit, log=log)
    for lang, data in bench.items():
        log(f"{lang}: {len(data['queries'])} doc queries, {len(data['functions'])} functions"
            + (f" ({data['from_document']} from the cut document)" if data["from_document"] else ""))
    report: dict[str, Any] = {
        "benchmark": "CodeSearchNet protocol (doc -> function, doc stripped) on the trainer's held-out test packages",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "command": command, "git_head": head,
        "machine": box, "k": K, "languages": args.languages,
        "sources": {lang: sorted({r["source"] for r in d["functions"].values()}) for lang, d in bench.items()},
        "runs": []}
    weights = json.loads(args.weights) if args.weights else None
    for model in args.model or [None]:
        when, load = datetime.now(timezone.utc).isoformat(timespec="seconds"), machine()["load_avg_at_start"]
        run = run_model(model, bench, args.work, weights=weights, log=log)
        report["runs"].append({"date": when, "command": command, "load_avg_at_start": load,
                               "load_avg_at_end": machine()["load_avg_at_start"], **run})
        print(f"\n## {run['model']} ({run['encoder']})\n\n{table(run)}\n", flush=True)
        save(report)
    if len(report["runs"]) > 1:
        print(f"MRR\n\n{summary_table(report['runs'])}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
