"""Check the gold of the query suites against the fetched corpora, by parsing the code itself.

    python -m evals.check_gold                      # every suite in evals/suites/ (CORPUS.jsonl or PREFIX-CORPUS.jsonl)
    python -m evals.check_gold evals/suites/rxjs.jsonl --repo PATH
    python -m evals.check_gold --dump itertools src/adaptors   # definitions (for writing gold)

For each query: the fields are well-formed (id unique, a known intent, a symbol for definition/usages,
context files that exist). For each gold entry: the file exists, a definition named ``symbol`` (qualified
name or plain name) spans ``line`` and starts at most 5 lines before it (the suite runner's hit rule), and
its ``container`` matches when one is given. For usages queries, each gold function must really hold a
reference to the queried symbol (its last name segment). Exits 1 listing every problem.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

INTENTS = ("definition", "usages", "semantic", "multi_hop", "context", "change")
LINE_SLACK = 5
MODULE = "(module)"  # gold symbol of a module-level usage: ``line`` is the reference's line
COMMENT_STARTS = ("//", "#", "/*", "*", "--", '"""', "'''")


def _strip_trailing_comment(code: str) -> str:
    for marker in (" //", " # "):
        if marker in code:
            code = code.split(marker, 1)[0]
    return code


def norm_symbol(name: str) -> str:
    """``Type::method``, ``Type#method``, ``Type.method`` -> ``Type.method``."""
    return name.replace("::", ".").replace("#", ".").strip(".")


def last_segment(name: str) -> str:
    return norm_symbol(name).rsplit(".", 1)[-1]


@dataclass
class CorpusFacts:
    """Every definition and reference of a source tree, from the project's own parser."""

    root: Path
    defs: dict[str, list] = field(default_factory=lambda: defaultdict(list))  # path -> [Definition]
    refs: dict[str, list] = field(default_factory=lambda: defaultdict(list))  # path -> [Reference]
    files: set[str] = field(default_factory=set)

    @classmethod
    def load(cls, root: str | Path) -> "CorpusFacts":
        from indexer.discover import discover
        from indexer.parser import parse_file

        facts = cls(Path(root))
        for entry in discover(facts.root).files:
            facts.files.add(entry.path)
            try:
                parsed = parse_file(entry.path, (facts.root / entry.path).read_bytes())
            except Exception:  # not a language the parser knows
                continue
            if parsed is None:
                continue
            facts.defs[entry.path].extend(parsed.definitions)
            facts.refs[entry.path].extend(parsed.references)
        return facts

    def definitions_at(self, path: str, line: int) -> list:
        return [d for d in self.defs.get(path, []) if d.start_line <= line <= d.end_line]

    def matching(self, path: str, symbol: str, line: int) -> list:
        """Definitions in ``path`` named ``symbol`` that start at ``line`` or up to 5 lines before it and span it."""
        want = norm_symbol(symbol)
        return [d for d in self.definitions_at(path, line)
                if line - LINE_SLACK <= d.start_line and want in (norm_symbol(d.qualname), d.name)]

    def textual_users(self, name: str) -> list[tuple[str, object]]:
        """Innermost definitions whose code (comments aside) names ``name`` as a whole word, other than
        the definitions of ``name`` itself: a grep cross-check of the parser's references."""
        import re

        word = re.compile(rf"(?<![\w$]){re.escape(name)}(?![\w$])")
        out: list[tuple[str, object]] = []
        for path, defs in self.defs.items():
            try:
                lines = (self.root / path).read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                continue
            users: dict[str, object] = {}
            for n, text in enumerate(lines, 1):
                code = text.strip()
                if code.startswith(COMMENT_STARTS) or not word.search(_strip_trailing_comment(code)):
                    continue
                spanning = [d for d in defs if d.start_line <= n <= d.end_line]
                if not spanning:
                    continue
                inner = max(spanning, key=lambda d: d.start_line)
                if inner.name == name:
                    continue  # the definition itself (its signature or a recursive call)
                users.setdefault(inner.id, inner)
            out.extend((path, d) for d in users.values())
        return out

    def enclosing(self, ref):
        """The definition holding ``ref``, or None at module level."""
        return next((d for d in self.defs.get(ref.path, []) if d.id == ref.enclosing_id), None)

    def references_in(self, definition, name: str) -> list:
        return [r for r in self.refs.get(definition.path, [])
                if r.name == name and definition.start_line <= r.line <= definition.end_line]


def load_suite(path: str | Path) -> list[dict]:
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip() and not line.lstrip().startswith("//"):
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError as err:
                    raise ValueError(f"{path}:{n}: not JSON: {err}") from err
    return out


def check_query(q: dict, facts: CorpusFacts) -> list[str]:
    problems: list[str] = []
    qid = q.get("id", "?")

    def bad(msg: str) -> None:
        problems.append(f"{qid}: {msg}")

    if q.get("intent") not in INTENTS:
        bad(f"unknown intent {q.get('intent')!r}")
    if not str(q.get("query") or "").strip():
        bad("empty query")
    if q.get("intent") in ("definition", "usages") and not q.get("symbol"):
        bad("definition/usages queries need a symbol")
    ctx = q.get("context")
    if q.get("intent") in ("context", "change") and not ctx:
        bad("context/change queries need a context")
    if ctx:
        for p in [ctx.get("current_file")] + list(ctx.get("recent_files") or []):
            if p and p not in facts.files:
                bad(f"context file {p} is not in the corpus")
    gold = q.get("gold") or []
    if not gold:
        bad("no gold")
    for g in gold:
        path, symbol, line = g.get("path"), g.get("symbol"), g.get("line")
        if path not in facts.files:
            bad(f"gold file {path} does not exist")
            continue
        if not symbol or not isinstance(line, int):
            bad(f"gold {g} needs symbol and line")
            continue
        if symbol == MODULE:  # a module-level reference (usages): no definition encloses it
            name = last_segment(q.get("symbol") or "")
            if not any(r.name == name and r.line == line and not facts.enclosing(r) for r in facts.refs.get(path, [])):
                bad(f"no module-level reference to {name} at {path}:{line}")
            continue
        found = facts.matching(path, symbol, line)
        if not found:
            near = [f"{d.qualname}@{d.start_line}-{d.end_line}" for d in facts.definitions_at(path, line)]
            named = [f"{d.qualname}@{d.start_line}" for d in facts.defs.get(path, [])
                     if last_segment(symbol) == d.name]
            bad(f"no definition {symbol} spanning {path}:{line} (spanning: {near[-3:]}; named so: {named[:5]})")
            continue
        if g.get("container") and not any(d.container == g["container"] for d in found):
            bad(f"{symbol} at {path}:{line} is in {found[0].container!r}, not {g['container']!r}")
        if q.get("intent") == "usages":
            name = last_segment(q["symbol"])
            if not any(facts.references_in(d, name) for d in found):
                bad(f"{symbol} at {path}:{line} holds no reference to {name}")
    if q.get("intent") == "usages" and q.get("symbol"):
        covered = {(g.get("path"), g.get("line")) for g in gold}
        for path, d in facts.textual_users(last_segment(q["symbol"])):
            if (path, d.start_line) not in covered:
                bad(f"gold misses {d.qualname} at {path}:{d.start_line}, whose code names {q['symbol']} (grep)")
    return problems


def check_suite(path: str | Path, repo: str | Path | None = None, facts: CorpusFacts | None = None) -> list[str]:
    queries = load_suite(path)
    if facts is None:
        if repo is None:
            from .corpora import corpus_for, fetch

            corpus = corpus_for(path)
            if corpus is None:
                return [f"{path}: no corpus for {Path(path).stem}; pass --repo"]
            repo = fetch(corpus.name)
        facts = CorpusFacts.load(repo)
    problems = []
    seen: set[str] = set()
    for q in queries:
        if q.get("id") in seen:
            problems.append(f"{q.get('id')}: duplicate id")
        seen.add(q.get("id"))
        problems.extend(check_query(q, facts))
    return [f"{Path(path).name}: {p}" for p in problems]


def dump(name_or_path: str, under: str = "") -> None:
    from .corpora import CORPORA, fetch

    root = fetch(name_or_path) if name_or_path in CORPORA else Path(name_or_path)
    facts = CorpusFacts.load(root)
    for path in sorted(facts.defs):
        if under and not path.startswith(under):
            continue
        for d in facts.defs[path]:
            print(f"{path}:{d.start_line}-{d.end_line}\t{d.kind}\t{d.qualname}")


def dump_refs(name_or_path: str, name: str) -> None:
    """The definitions that reference ``name`` (for writing usages gold)."""
    from .corpora import CORPORA, fetch

    root = fetch(name_or_path) if name_or_path in CORPORA else Path(name_or_path)
    facts = CorpusFacts.load(root)
    for path in sorted(facts.refs):
        by_id = {d.id: d for d in facts.defs.get(path, [])}
        for r in facts.refs[path]:
            if r.name == name:
                d = by_id.get(r.enclosing_id)
                where = f"{d.qualname}@{d.start_line}" if d else "(module level)"
                print(f"{path}:{r.line}\t{r.kind}\t{where}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.check_gold", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("suites", nargs="*", help="suite files (default: evals/suites/*.jsonl)")
    ap.add_argument("--repo", help="the corpus root (default: the corpus named like the suite file)")
    ap.add_argument("--dump", nargs="+", metavar=("CORPUS", "UNDER"),
                    help="print the definitions of a corpus (optionally under a folder) and exit")
    ap.add_argument("--refs", nargs=2, metavar=("CORPUS", "NAME"),
                    help="print the references to NAME with their enclosing definitions and exit")
    args = ap.parse_args(argv)
    if args.refs:
        dump_refs(*args.refs)
        return 0
    if args.dump:
        dump(args.dump[0], args.dump[1] if len(args.dump) > 1 else "")
        return 0
    from .corpora import SUITES_DIR

    suites = args.suites or sorted(str(p) for p in SUITES_DIR.glob("*.jsonl"))
    problems: list[str] = []
    total = 0
    for s in suites:
        total += len(load_suite(s))
        problems.extend(check_suite(s, args.repo))
    for p in problems:
        print(p)
    print(f"{len(suites)} suites, {total} queries, {len(problems)} problems", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
