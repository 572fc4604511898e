"""Mine (query, code) pairs from the pinned source packages with the project's own tree-sitter parsers.

Pairs:
  * ``doc``:  the first sentence(s) of a function's doc comment or docstring -> the function with that doc
    removed (CodeSearchNet's convention).
  * ``name``: a short description built from the function's name, its container, its parameters and its
    return type ("parse config file given path") -> the same code. These cover queries that share no
    *token* with the code (``parseConfigFile`` is not the word pieces of "parse config file"), and functions
    without docs.

The code side is written exactly as the index embeds a chunk (``indexer.encoder.embedding_text``: path,
container and name, signature, code), without the doc.

Filters: query longer than 20 characters and mostly words; code 100..5000 characters with a body; no trivial
docs (TODO, "Deprecated", {@inheritDoc}, licence headers...); not imports-only. Then near-duplicate removal
(MinHash over code shingles, held-out splits first so nothing near a test function stays in training), one
copy of each query text, per-package caps, and per-language balancing of the training split (a cap, and
upsampling of small languages). The split is by source package (= repository), from ``sources.toml``.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import random
import re
import textwrap
import time
import tokenize
import zlib
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .common import DATASET_DIR, DATA_ROOT, write_jsonl
from .sources import SOURCES_TOML, Fetched, Source, fetch, load_sources

MIN_QUERY_CHARS = 21  # "query > 20 chars"
MAX_QUERY_CHARS = 300
MIN_CODE_CHARS, MAX_CODE_CHARS = 100, 5000
CALLABLE_KINDS = frozenset({"function", "method"})
# C and C++ sources are parsed as C++ whatever their suffix (headers are .h, template bodies .inl/.tcc).
CPP_SUFFIXES = (".h", ".hh", ".hpp", ".hxx", ".h++", ".inl", ".ipp", ".tcc", ".tpp", ".cc", ".cpp", ".cxx")
LANGUAGE_SUFFIXES = {
    "python": (".py",), "rust": (".rs",), "go": (".go",), "java": (".java",), "javascript": (".js", ".mjs", ".cjs"),
    "typescript": (".ts", ".mts", ".cts", ".tsx"), "cpp": CPP_SUFFIXES, "c": (".c", ".h"), "csharp": (".cs",),
    "kotlin": (".kt",), "ruby": (".rb",), "php": (".php",), "swift": (".swift",),
}

_TRIVIAL_DOC = re.compile(
    r"^\s*(todo|fixme|xxx|hack|deprecated|see\b|inherit|\{@inheritdoc\}|@inheritdoc|internal\b|private\b|"
    r"undocumented|no-?op\b|nolint|copyright|licensed|generated|auto-?generated|do not (use|edit)|"
    r"for internal use|implementation detail|override|overrides|overridden|constructor\b|creates? a new instance"
    r"|default constructor|getter|setter|returns? the value\b|not implemented|placeholder|stub\b|"
    r"safety:|panics\b|errors\b|examples?\b)", re.I)
_TAG_LINE = re.compile(r"^\s*(@\w+|:param|:type|:return|:rtype|:raises|args:|arguments:|parameters\b|returns?:|"
                       r"yields?:|raises:|example[s]?:|note:|>>>|#\s|\.\. |-{3,}|={3,}|```)", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`(\"'\[])")
_WS = re.compile(r"\s+")
_IMPORT_LINE = re.compile(r"^\s*(import\b|from\s+\S+\s+import\b|use\s|#include\b|require\(|using\s|package\s|"
                          r"extern crate\b|pub use\b|export \* from|export \{)")
_CODE_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+|[^\sA-Za-z0-9_]")
_PARAM_NAMES = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TYPE_WORDS = frozenset("""self cls this mut const ref static final int uint long short float double bool boolean
char string str void none usize isize u8 u16 u32 u64 i8 i16 i32 i64 f32 f64 byte rune error interface any object
auto typename template struct class enum fn func def let var pub impl dyn where true false null nil undefined
optional list dict set tuple vec option result box arc rc slice map array number unknown never public private
protected readonly inline constexpr unsigned signed size_t std noexcept override virtual async await""".split())


@dataclass(slots=True)
class MineConfig:
    sources_toml: Path = SOURCES_TOML
    data_root: Path = DATA_ROOT
    out_dir: Path = DATASET_DIR
    only: list[str] | None = None
    seed: int = 13
    name_query_fraction: float = 0.25  # of documented functions: an extra name-description pair
    undocumented_fraction: float = 0.3  # of undocumented functions: a name-description pair
    dedup_threshold: float = 0.9  # estimated Jaccard of code 5-shingles: at or above is a near-duplicate
    num_perm: int = 64
    max_per_language: int = 6000  # training pairs per language, after balancing
    min_per_language: int = 3000  # smaller languages are upsampled towards this ...
    max_upsample: float = 3.0  # ... by at most this factor
    max_eval_per_language: int = 800  # test pairs per language (valid: a third of it)
    per_file_cap: int = 40


@dataclass(slots=True)
class Pair:
    query: str
    document: str
    code: str
    language: str
    source: str
    repo: str
    split: str
    query_kind: str  # doc | name
    path: str
    qualname: str
    shingles: np.ndarray | None = field(default=None, repr=False)

    @property
    def code_id(self) -> str:
        return hashlib.sha1(self.document.encode()).hexdigest()[:16]

    def row(self) -> dict[str, Any]:
        return {"id": f"{self.source}:{self.path}#{self.qualname}:{self.query_kind}", "query": self.query,
                "document": self.document, "code_id": self.code_id, "language": self.language,
                "source": self.source, "repo": self.repo, "split": self.split, "query_kind": self.query_kind,
                "path": self.path, "qualname": self.qualname}


# ------------------------------------------------------------------------------------- text cleaning
def clean_doc(doc: str, name: str = "") -> str:
    """The query a doc comment gives: its first sentence (two when the first is short), markup removed;
    "" when the doc is trivial."""
    if not doc or not doc.strip():
        return ""
    lines: list[str] = []
    for line in doc.strip().splitlines():
        if not line.strip():
            if lines:
                break  # first paragraph only
            continue
        if _TAG_LINE.match(line):
            break
        lines.append(line.strip())
    text = " ".join(lines)
    text = re.sub(r"\{@(?:link|linkplain|code|literal)\s+([^}\s]+)(?:\s+([^}]*))?\}",
                  lambda m: (m.group(2) or m.group(1)).split("#")[-1].strip(), text)
    if re.search(r"\{@inheritDoc\}", text, re.I):
        return ""
    text = re.sub(r"<[^>]{1,40}>", " ", text)  # html tags
    text = html.unescape(text)
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)  # markdown links
    text = re.sub(r"\[`?([^\]`]+)`?\](?!\()", r"\1", text)  # rustdoc intra links
    text = re.sub(r":[a-z]+:`~?([^`]+)`", lambda m: m.group(1).split(".")[-1], text)  # rst roles
    text = text.replace("``", "").replace("`", "").replace("**", "")
    text = _WS.sub(" ", text).strip()
    sentences = _SENTENCE_END.split(text)
    query = sentences[0]
    if len(query) < 40 and len(sentences) > 1:
        query = f"{query} {sentences[1]}"
    if len(query) > MAX_QUERY_CHARS:
        cut = query[:MAX_QUERY_CHARS]
        query = cut[: cut.rfind(" ")] if " " in cut else cut
    query = query.strip()
    if _TRIVIAL_DOC.match(query) or "TODO" in query or "FIXME" in query:
        return ""
    if len(query) < MIN_QUERY_CHARS:
        return ""
    letters = sum(ch.isalpha() or ch == " " for ch in query)
    if letters < 0.75 * len(query) or len(query.split()) < 4:
        return ""  # mostly code or symbols, or too few words
    if name and query.lower().rstrip(". ") in {name.lower(), " ".join(_split(name))}:
        return ""
    return query


def _split(identifier: str) -> list[str]:
    from indexer.identifiers import split_identifier

    return split_identifier(identifier)


def strip_python_docstring(code: str) -> str | None:
    """``code`` (a def, decorators included) without its docstring statement; None when it can't tell."""
    src = textwrap.dedent(code)
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(src + "\n").readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None
    seen_def = False
    depth = 0
    after_colon = False
    for tok in tokens:
        if not seen_def:
            seen_def = tok.type == tokenize.NAME and tok.string == "def"
            continue
        if tok.type == tokenize.OP and tok.string in "([{":
            depth += 1
        elif tok.type == tokenize.OP and tok.string in ")]}":
            depth -= 1
        elif tok.type == tokenize.OP and tok.string == ":" and depth == 0 and not after_colon:
            after_colon = True
        elif after_colon and tok.type in (tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.COMMENT):
            continue
        elif after_colon:
            if tok.type != tokenize.STRING:
                return None
            lines = code.splitlines()
            first, last = tok.start[0] - 1, tok.end[0] - 1
            head, tail = lines[first][: _col(lines[first], src.splitlines()[first], tok.start[1])], lines[last]
            if head.strip():  # `def f(): "doc"` on one line
                return None
            rest = tail[_col(tail, src.splitlines()[last], tok.end[1]):]
            kept = lines[:first] + ([rest] if rest.strip() else []) + lines[last + 1:]
            while first < len(kept) and not kept[first].strip() and first > 0:
                del kept[first]  # the blank line after a docstring
            return "\n".join(kept)
    return None


def _col(original: str, dedented: str, col: int) -> int:
    return col + (len(original) - len(dedented))


def name_query(name: str, container: str, parameters: str, return_type: str, rng: random.Random) -> str:
    """A short description from identifiers only: "parse config file given path and strict"."""
    words = _split(name)
    if (name.startswith("__") and name.endswith("__")) or name.startswith("operator") or not words:
        return ""
    cont = _split(container)[-4:] if container else []
    params = [p for p in dict.fromkeys(w for w in _PARAM_NAMES.findall(parameters)) if p.lower() not in _TYPE_WORDS
              and not p[0].isupper() and len(p) > 1][:3]
    param_words = [" ".join(_split(p)) for p in params]
    ret = [w for w in _split(return_type) if w not in _TYPE_WORDS][:3]
    if len(words) + len(cont) < 2:
        return ""
    phrase = " ".join(words)
    choice = rng.random()
    if cont and choice < 0.35:
        q = f"{phrase} {rng.choice(['in', 'of', 'for'])} {' '.join(cont)}"
    elif param_words and choice < 0.7:
        q = f"{phrase} {rng.choice(['given', 'with', 'from', 'using'])} {' and '.join(param_words)}"
    elif ret and choice < 0.85:
        q = f"{phrase} returning {' '.join(ret)}"
    else:
        q = f"{rng.choice(['how to ', 'function to ', 'code that does ', ''])}{phrase}"
        if cont:
            q += f" ({' '.join(cont)})"
    q = _WS.sub(" ", q).strip()
    return q if len(q) >= MIN_QUERY_CHARS else ""


def code_ok(code: str, language: str) -> bool:
    if not (MIN_CODE_CHARS <= len(code) <= MAX_CODE_CHARS):
        return False
    if language != "python" and "{" not in code and "=>" not in code:
        return False  # a declaration without a body
    lines = [ln for ln in code.splitlines() if ln.strip()]
    if len(lines) < 3:
        return False
    imports = sum(bool(_IMPORT_LINE.match(ln)) for ln in lines)
    return imports < 0.5 * len(lines)


def document_text(path: str, container: str, qualname: str, signature: str, code: str) -> str:
    """What the index embeds for a chunk, without its doc (kept identical to indexer.encoder.embedding_text)."""
    from indexer.encoder import embedding_text

    return embedding_text({"path": path, "container": container, "qualname": qualname, "signature": signature,
                           "doc": "", "code": code})


# ------------------------------------------------------------------------------------------- mining
def mine_source(fetched: Fetched, cfg: MineConfig, log=print) -> tuple[list[Pair], Counter]:
    from indexer.discover import discover
    from indexer.parser import parse_file

    src = fetched.source
    suffixes = LANGUAGE_SUFFIXES.get(src.language, ())
    rng = random.Random(f"{cfg.seed}:{src.name}")
    reasons: Counter = Counter()
    pairs: list[Pair] = []
    entries = discover(fetched.root).files
    for entry in entries:
        rel = entry.path
        bare_header = src.language == "cpp" and "." not in rel.rsplit("/", 1)[-1]  # <gsl/span>, <range/v3/...>
        if not (rel.lower().endswith(suffixes) or bare_header) or not src.wants(rel):
            continue
        data = (fetched.root / rel).read_bytes()
        parse_path = rel
        if src.language == "cpp" and not rel.endswith((".hpp", ".cc", ".cpp", ".cxx", ".hh", ".hxx", ".ipp")):
            parse_path = rel + ".hpp"
        try:
            parsed = parse_file(parse_path, data)
        except Exception:  # a grammar failure on one file is not fatal
            reasons["parse error"] += 1
            continue
        if parsed.language != src.language and not (src.language == "typescript" and parsed.language == "tsx"):
            reasons["other language"] += 1
            continue
        per_file = 0
        for chunk in parsed.chunks:
            if chunk.kind not in CALLABLE_KINDS:
                continue
            reasons["functions"] += 1
            code = chunk.code
            if src.language == "python" and chunk.doc:
                stripped = strip_python_docstring(code)
                if stripped is None:
                    reasons["docstring not separable"] += 1
                    continue
                code = stripped
            if not code_ok(code, src.language):
                reasons["code size/body/imports"] += 1
                continue
            if per_file >= cfg.per_file_cap:
                reasons["per-file cap"] += 1
                continue
            document = document_text(rel, chunk.container, chunk.qualname, chunk.signature, code)
            made = []
            query = clean_doc(chunk.doc, chunk.name)
            if query and src.language == "go" and query.startswith(chunk.name + " ") and rng.random() < 0.5:
                query = query[len(chunk.name) + 1:]  # Go docs open with the name: keep it on half of them
                query = query[:1].upper() + query[1:]
            if query and len(query) >= MIN_QUERY_CHARS:
                made.append(("doc", query))
            elif chunk.doc:
                reasons["trivial or short doc"] += 1
            if (made and rng.random() < cfg.name_query_fraction) or (
                    not chunk.doc and rng.random() < cfg.undocumented_fraction):
                nq = name_query(chunk.name, chunk.container, chunk.parameters, chunk.return_type, rng)
                if nq:
                    made.append(("name", nq))
            if not made:
                reasons["no query"] += 1 if not chunk.doc else 0
                continue
            per_file += 1
            for kind, q in made:
                pairs.append(Pair(query=q, document=document, code=code, language=src.language, source=src.name,
                                  repo=src.repo, split=src.split, query_kind=kind, path=rel,
                                  qualname=chunk.qualname))
    if src.cap and len(pairs) > src.cap:
        rng.shuffle(pairs)
        reasons["package cap"] += len(pairs) - src.cap
        pairs = pairs[: src.cap]
    return pairs, reasons


# ------------------------------------------------------------------------------------- near-duplicates
class MinHasher:
    """MinHash over 5-shingles of code tokens (multiply-shift hashing, numpy), with LSH banding."""

    def __init__(self, num_perm: int = 64, seed: int = 1, shingle: int = 5) -> None:
        rng = np.random.default_rng(seed)
        self.a = rng.integers(1, 2**63, size=num_perm, dtype=np.uint64) | np.uint64(1)
        self.b = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64)
        self.num_perm, self.shingle = num_perm, shingle

    def signature(self, code: str) -> np.ndarray:
        toks = _CODE_TOKEN.findall(code)
        k = self.shingle
        grams = {" ".join(toks[i: i + k]) for i in range(max(1, len(toks) - k + 1))}
        h = np.fromiter((zlib.crc32(g.encode()) for g in grams), dtype=np.uint64, count=len(grams))
        with np.errstate(over="ignore"):
            mixed = (h[None, :] * self.a[:, None] + self.b[:, None]) >> np.uint64(32)
        return mixed.min(axis=1)


def near_duplicates(sigs: list[np.ndarray], threshold: float, bands: int = 16) -> list[int]:
    """Greedy: keep items in order, drop each item whose estimated Jaccard with a kept item is >= threshold.
    Returns the kept indices."""
    if not sigs:
        return []
    rows = len(sigs[0]) // bands
    buckets: dict[tuple[int, bytes], list[int]] = defaultdict(list)
    kept: list[int] = []
    for i, sig in enumerate(sigs):
        keys = [(b, sig[b * rows: (b + 1) * rows].tobytes()) for b in range(bands)]
        cands = {j for key in keys for j in buckets.get(key, ())}
        if any(float(np.mean(sigs[j] == sig)) >= threshold for j in cands):
            continue
        kept.append(i)
        for key in keys:
            buckets[key].append(i)
    return kept


# --------------------------------------------------------------------------------------------- main
def mine(cfg: MineConfig, log=print) -> dict[str, Any]:
    t0 = time.time()
    sources = load_sources(cfg.sources_toml, only=cfg.only)
    all_pairs: list[Pair] = []
    per_source: list[dict[str, Any]] = []
    filter_counts: Counter = Counter()
    for src in sources:
        log(f"[mine] {src.name} {src.version} ({src.language}, {src.split})")
        fetched = fetch(src, cfg.data_root, log=log)
        t = time.time()
        pairs, reasons = mine_source(fetched, cfg, log)
        filter_counts.update(reasons)
        log(f"  {len(pairs)} pairs in {time.time() - t:.1f}s ({dict(reasons)})")
        per_source.append({"name": src.name, "kind": src.kind, "version": src.version, "language": src.language,
                           "license": src.license, "repo": src.repo, "split": src.split, "archive": fetched.archive,
                           "archive_bytes": fetched.bytes, "raw_pairs": len(pairs)})
        all_pairs.extend(pairs)

    # Near-duplicates and repeated queries: held-out splits are kept first, so training loses the overlap.
    order = sorted(range(len(all_pairs)), key=lambda i: (("test", "valid", "train").index(all_pairs[i].split), i))
    hasher = MinHasher(cfg.num_perm, seed=cfg.seed)
    by_code: dict[str, np.ndarray] = {}
    sigs = []
    for i in order:
        p = all_pairs[i]
        if p.code_id not in by_code:
            by_code[p.code_id] = hasher.signature(p.code)
        sigs.append(by_code[p.code_id])
    # Pairs of one code (doc + name query) share a signature: dedupe unique codes, then keep their pairs.
    first_of_code: dict[str, int] = {}
    uniq_positions: list[int] = []
    for pos, i in enumerate(order):
        if all_pairs[i].code_id not in first_of_code:
            first_of_code[all_pairs[i].code_id] = pos
            uniq_positions.append(pos)
    kept_uniq = near_duplicates([sigs[p] for p in uniq_positions], cfg.dedup_threshold)
    kept_codes = {all_pairs[order[uniq_positions[k]]].code_id for k in kept_uniq}
    dedup_dropped = sum(1 for p in all_pairs if p.code_id not in kept_codes)
    seen_queries: set[tuple[str, str]] = set()
    stage: list[Pair] = []
    query_dropped = 0
    for i in order:
        p = all_pairs[i]
        if p.code_id not in kept_codes:
            continue
        key = (p.language, re.sub(r"\W+", " ", p.query.lower()).strip())
        if key in seen_queries:
            query_dropped += 1
            continue
        seen_queries.add(key)
        stage.append(p)
    # A code whose pairs were split between the lists of kept codes is fine; a code kept in two splits is not.
    code_split: dict[str, str] = {}
    final: list[Pair] = []
    for p in stage:
        if code_split.setdefault(p.code_id, p.split) == p.split:
            final.append(p)

    rng = random.Random(cfg.seed)
    splits: dict[str, list[Pair]] = {s: [p for p in final if p.split == s] for s in ("train", "valid", "test")}
    balance: dict[str, dict[str, int]] = {}
    train: list[Pair] = []
    by_lang: dict[str, list[Pair]] = defaultdict(list)
    for p in splits["train"]:
        by_lang[p.language].append(p)
    for lang, items in sorted(by_lang.items()):
        rng.shuffle(items)
        n = len(items)
        if n > cfg.max_per_language:
            chosen = items[: cfg.max_per_language]
        elif n < cfg.min_per_language:
            target = min(cfg.min_per_language, int(n * cfg.max_upsample))
            chosen = items * (target // n) + items[: target % n]
        else:
            chosen = items
        balance[lang] = {"unique": n, "rows": len(chosen)}
        train.extend(chosen)
    rng.shuffle(train)
    held: dict[str, list[Pair]] = {}
    for split, cap in (("valid", max(1, cfg.max_eval_per_language // 3)), ("test", cfg.max_eval_per_language)):
        out: list[Pair] = []
        grouped: dict[str, list[Pair]] = defaultdict(list)
        for p in splits[split]:
            grouped[p.language].append(p)
        for lang, items in sorted(grouped.items()):
            rng.shuffle(items)
            out.extend(items[:cap])
        held[split] = out

    cfg.out_dir.mkdir(parents=True, exist_ok=True)
    counts: dict[str, Any] = {}
    for split, rows in (("train", train), ("valid", held["valid"]), ("test", held["test"])):
        write_jsonl(cfg.out_dir / f"{split}.jsonl.gz", (p.row() for p in rows))
        c: dict[str, dict[str, int]] = defaultdict(lambda: {"doc": 0, "name": 0})
        for p in rows:
            c[p.language][p.query_kind] += 1
        counts[split] = {lang: dict(v) for lang, v in sorted(c.items())}
    by_source = Counter(p.source for p in final)
    for row in per_source:
        row["kept_pairs"] = by_source.get(row["name"], 0)
    stats = {
        "created": time.strftime("%Y-%m-%d %H:%M:%S"), "seconds": round(time.time() - t0, 1),
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items()},
        "sources": per_source, "counts": counts, "balance": balance,
        "filters": dict(filter_counts) | {"near-duplicate code": dedup_dropped, "repeated query": query_dropped,
                                          "code in two splits": len(stage) - len(final)},
        "raw_pairs": len(all_pairs),
    }
    (cfg.out_dir / "stats.json").write_text(json.dumps(stats, indent=2))
    (cfg.out_dir / "DATASET_CARD.md").write_text(dataset_card(stats))
    log(f"[mine] wrote {cfg.out_dir}: train {len(train)}, valid {len(held['valid'])}, test {len(held['test'])} "
        f"({time.time() - t0:.0f}s)")
    return stats


def dataset_card(stats: dict[str, Any]) -> str:
    cfg = stats["config"]
    langs = sorted({lang for split in stats["counts"].values() for lang in split})
    lines = [
        "# sgmcp code-search training data", "",
        f"Mined by `sgmcp train mine` on {stats['created']} from the pinned packages in `trainer/sources.toml`, "
        "with the project's own tree-sitter parsers (`indexer.parser.parse_file`).", "",
        "Each row is a (query, document) pair. `document` is the function as the index embeds it (path, container "
        "and name, signature, code) **with its doc comment / docstring removed**. `query_kind` is `doc` (the first "
        "sentence of the doc, markup removed) or `name` (a short description built from the name, container, "
        "parameter names and return type: it shares words but no word *pieces* with camelCase/snake_case code, and "
        "covers undocumented functions).", "",
        "## Counts (pairs; doc + name queries)", "",
        "| language | train (rows) | train unique | valid | test |", "|---|---|---|---|---|",
    ]
    for lang in langs:
        cell = []
        for split in ("train", "valid", "test"):
            c = stats["counts"].get(split, {}).get(lang, {"doc": 0, "name": 0})
            cell.append(f"{c['doc'] + c['name']} ({c['doc']} + {c['name']})")
        uniq = stats["balance"].get(lang, {}).get("unique", 0)
        lines.append(f"| {lang} | {cell[0]} | {uniq} | {cell[1]} | {cell[2]} |")
    lines += ["", "Training rows per language are balanced: capped at "
              f"{cfg['max_per_language']}, and languages under {cfg['min_per_language']} unique pairs are upsampled "
              f"(repeated) by at most {cfg['max_upsample']}×. Valid/test keep at most "
              f"{max(1, cfg['max_eval_per_language'] // 3)}/{cfg['max_eval_per_language']} pairs per language, each "
              "once.", "",
              "## Split (by repository)", "",
              "Every package is one upstream repository and belongs to one split; valid and test packages are never "
              "trained on, and any training function that is a near-duplicate of a held-out one is dropped.", ""]
    for split in ("valid", "test"):
        names = [f"{s['name']} {s['version']} ({s['language']})" for s in stats["sources"] if s["split"] == split]
        lines.append(f"- **{split}**: {', '.join(names) or 'none'}")
    lines += ["", "Reserved for evaluation and never mined (a guard in `trainer/sources.py` raises on them): httpx, "
              "the Rust crate `ignore` (and the rest of ripgrep), @tanstack/query-core, spf13/cobra, spdlog (and "
              "fmt, which it bundles), react-native-svg, the CoSQA test split, SWE-bench and its twelve repositories "
              "(astropy, django, flask, matplotlib, pylint, pytest, requests, scikit-learn, seaborn, sphinx, sympy, "
              "xarray).", "",
              "## Sources", "",
              "| package | registry | version | language | licence | repository | split | pairs kept / mined |",
              "|---|---|---|---|---|---|---|---|"]
    for s in stats["sources"]:
        lines.append(f"| {s['name']} | {s['kind']} | {s['version']} | {s['language']} | {s['license']} | "
                     f"{s['repo']} | {s['split']} | {s['kept_pairs']} / {s['raw_pairs']} |")
    total_mb = sum(s.get("archive_bytes", 0) for s in stats["sources"]) / 1e6
    f = stats["filters"]
    lines += ["", f"Downloaded archives: {total_mb:.1f} MB in all.", "",
              "## Filters", "",
              "- Functions and methods only (tree-sitter definitions of kind function/method); test, example, "
              "benchmark, docs, vendored, build-output, minified and declaration (.d.ts) files skipped.",
              f"- Query longer than {MIN_QUERY_CHARS - 1} characters, at least 4 words, at least 75% letters; at most "
              f"{MAX_QUERY_CHARS} characters. Trivial docs dropped (TODO/FIXME, Deprecated, See ..., "
              "{@inheritDoc}, licence text, 'Constructor', ...). Go docs that open with the function's name lose "
              "it on half of the pairs.",
              f"- Code {MIN_CODE_CHARS}..{MAX_CODE_CHARS} characters, at least 3 lines, with a body; not imports-only; at "
              f"most {cfg['per_file_cap']} functions per file; per-package caps where `sources.toml` sets `cap`.",
              f"- Near-duplicate code removed: MinHash ({cfg['num_perm']} permutations, 5-token shingles, LSH with 16 "
              f"bands), estimated Jaccard >= {cfg['dedup_threshold']}; test and valid are kept first.",
              "- One pair per distinct query text per language; a code is in one split only.",
              f"- Name-description queries: for {cfg['name_query_fraction']:.0%} of documented functions and "
              f"{cfg['undocumented_fraction']:.0%} of undocumented ones.", "",
              "| filter | functions dropped |", "|---|---|"]
    for key in ("code size/body/imports", "trivial or short doc", "docstring not separable", "per-file cap",
                "package cap", "near-duplicate code", "repeated query", "code in two splits", "parse error"):
        lines.append(f"| {key} | {f.get(key, 0)} |")
    lines += ["", f"Functions seen: {f.get('functions', 0)}; raw pairs before deduplication: {stats['raw_pairs']}.",
              "", "Licences: every package is under a permissive licence (MIT, BSD, Apache-2.0, BSL-1.0, Unlicense; "
              "golang-lru is MPL-2.0, file-level copyleft, used for validation only). The pairs are short excerpts "
              "for training a retrieval model; see each package for its terms.", ""]
    return "\n".join(lines)
