"""The symbol/call graph held in memory for millisecond lookups: definitions by name and qualified
name, references by name and by enclosing definition, imports resolved to files."""

from __future__ import annotations

import posixpath
import re
import sys
import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pyarrow as pa

from .identifiers import split_identifier
from .store import Snapshot, path_in

_QUAL_SEPARATORS = re.compile(r"::|->|#|\\|/|:")


@dataclass(frozen=True, slots=True)
class Symbol:
    id: str
    name: str
    qualname: str
    kind: str
    path: str
    language: str
    start_line: int
    end_line: int
    container: str
    signature: str
    doc: str

    @property
    def module(self) -> str:
        """``pkg/mod.py`` -> ``pkg.mod`` (``__init__``/``index``/``mod`` files name their folder)."""
        stem = self.path.rsplit(".", 1)[0] if "." in self.path.rsplit("/", 1)[-1] else self.path
        parts = stem.split("/")
        if parts[-1] in ("__init__", "index", "mod", "lib", "main"):
            parts = parts[:-1]
        return ".".join(parts)


@dataclass(frozen=True, slots=True)
class Ref:
    name: str
    kind: str
    path: str
    line: int
    col: int
    enclosing_id: str
    receiver: str = ""  # a call's receiver or scope (indexer.model.Reference.receiver)


@dataclass(frozen=True, slots=True)
class ImportEdge:
    path: str
    module: str
    line: int
    names: tuple[str, ...]
    resolved: str | None


# What the graph reads of each table: (columns, row condition); None = every column / every row.
GRAPH_READS: dict[str, tuple[list[str] | None, str | None]] = {
    "symbols": (None, None),
    "refs": (["name", "kind", "path", "line", "col", "enclosing_id", "receiver"], None),
    "files": (["path", "language"], "skipped = ''"),  # indexed files only
    "imports": (None, None),
}


def read_graph_table(snapshot: Snapshot, table: str, where: str | None = None) -> pa.Table:
    """One table of ``snapshot`` as the graph reads it (``where``: only some rows, e.g. some paths')."""
    columns, condition = GRAPH_READS[table]
    query = snapshot.tables[table].search()
    conditions = [c for c in (where, condition) if c]
    if conditions:
        query = query.where(" AND ".join(f"({c})" for c in conditions))
    if columns:
        query = query.select(columns)
    return query.limit(None).to_arrow()


_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(4, thread_name_prefix="sgmcp-graph")
    return _POOL


class Graph:
    def __init__(self, snapshot: Snapshot | Mapping[str, pa.Table]) -> None:
        """The graph of an index snapshot, or of its tables already read by ``read_graph_table``."""
        self.symbols: dict[str, Symbol] = {}
        self._by_name: dict[str, list[str]] = defaultdict(list)
        self._by_path: dict[str, list[str]] = defaultdict(list)
        self._by_word: dict[str, set[str]] | None = None  # stemmed word -> names (built on first use)
        self._name_words: dict[str, set[str]] = {}
        self._refs: dict[str, list[Any]] = {}  # columns; Ref objects are made only for rows a query returns
        self._dead: set[int] = set()  # ref rows replaced by a later commit
        self._refs_by_name: dict[str, list[int]] = defaultdict(list)
        self._refs_by_enclosing: dict[str, list[int]] = defaultdict(list)
        self._refs_by_path: dict[str, list[int]] = defaultdict(list)
        # Reference rows read but not yet in the columns and indexes above: converted and indexed on first use
        # (a server's first answer is usually a definition; 50k rows cost ~0.1 s).
        self._refs_pending: list[pa.Table] = []
        self._lazy_lock = threading.Lock()  # builds what is built on first use: reference indexes, import edges
        self._edges: tuple[dict[str, list[ImportEdge]], dict[str, list[ImportEdge]]] | None = None
        self.files: dict[str, str] = {}
        self._import_rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._load(snapshot, None)

    def apply(self, snapshot: Snapshot, paths: set[str]) -> None:
        """Bring the graph to ``snapshot`` when only ``paths`` changed since the one it holds
        (a watcher's batch): milliseconds, where a reload of a large repository takes a second.
        Rows are read by path, through the tables' path indexes (``IndexStore.maintain``)."""
        if paths:  # none: a compaction or index commit, whose rows are the same
            self._load(snapshot, paths)

    def _load(self, snapshot: Snapshot | Mapping[str, pa.Table], paths: set[str] | None) -> None:
        files_before = set(self.files)
        where = None
        if paths is not None:
            where = path_in(paths)
            self._index_refs()
            for path in paths:
                for sym_id in self._by_path.pop(path, []):
                    sym = self.symbols.pop(sym_id, None)
                    if sym is not None:
                        self._by_name[sym.name.lower()].remove(sym_id)
                self._dead.update(self._refs_by_path.pop(path, []))
                self._import_rows.pop(path, None)
                self.files.pop(path, None)

        # The four reads run side by side (LanceDB works outside the GIL): a watcher's batch is
        # patched in the time of the slowest, not the sum.
        if isinstance(snapshot, Mapping):  # tables already read as read_graph_table reads them
            tables = {name: snapshot[name] for name in GRAPH_READS}
        else:
            futures = {name: _pool().submit(read_graph_table, snapshot, name, where) for name in GRAPH_READS}
            tables = {name: future.result() for name, future in futures.items()}
        read = {name: table.to_pydict() for name, table in tables.items() if name != "refs"}

        cols = read["symbols"]
        fields = list(Symbol.__dataclass_fields__)
        for values in zip(*(cols[f] for f in fields)):
            sym = Symbol(*values)
            self.symbols[sym.id] = sym
            self._by_name[sym.name.lower()].append(sym.id)
            self._by_path[sym.path].append(sym.id)
        if self._by_word is not None:  # a patch: index the new names (a name left with no symbol is harmless)
            self._index_words(sym_name.lower() for sym_name in cols["name"])

        with self._lazy_lock:
            self._refs_pending.append(tables["refs"])

        files = read["files"]
        self.files.update(zip(files["path"], files["language"]))
        for row in _rows_of(read["imports"]):
            self._import_rows[row["path"]].append(row)
        if paths is None or set(self.files) != files_before:
            # Which files exist decides where imports resolve: every edge is recomputed, on first use.
            self._resolver = ImportResolver(self.files)
            self._edges = None
        elif self._edges is not None:  # the same files, new contents: only the changed files' own imports move
            imports, importers = self._edges
            for path in paths:
                for edge in imports.pop(path, []):
                    if edge.resolved:
                        importers[edge.resolved].remove(edge)
            self._add_edges({p: self._import_rows.get(p, []) for p in paths}, imports, importers)

    def _import_edges(self) -> tuple[dict[str, list[ImportEdge]], dict[str, list[ImportEdge]]]:
        """(imports by importing file, by imported file), resolved on first use after a load."""
        edges = self._edges
        if edges is None:
            with self._lazy_lock:
                if self._edges is None:
                    imports: dict[str, list[ImportEdge]] = defaultdict(list)
                    importers: dict[str, list[ImportEdge]] = defaultdict(list)
                    self._add_edges(self._import_rows, imports, importers)
                    self._edges = imports, importers
                edges = self._edges
        return edges

    def _add_edges(self, import_rows: dict[str, list[dict[str, Any]]], imports: dict[str, list[ImportEdge]],
                   importers: dict[str, list[ImportEdge]]) -> None:
        for path, rows_of_path in import_rows.items():
            for row in rows_of_path:
                edge = ImportEdge(path, row["module"], row["line"], tuple(row["names"] or ()),
                                  self._resolver.resolve(row["module"], path))
                imports[path].append(edge)
                if edge.resolved:
                    importers[edge.resolved].append(edge)

    @property
    def needs_reload(self) -> bool:
        """Many replaced reference rows: a fresh load is smaller and faster than more patching."""
        return len(self._dead) > 50_000 and len(self._dead) * 2 > len(self._refs.get("name", ()))

    # ---- definitions ---------------------------------------------------------------------
    def names(self) -> list[str]:
        return list(self._by_name)

    def by_name(self, name: str) -> list[Symbol]:
        return [self.symbols[i] for i in self._by_name.get(name.lower(), [])]

    def definitions(self, query: str) -> list[Symbol]:
        """Exact (case-insensitive) name, or a qualified name in any common notation:
        ``Type::method``, ``pkg.mod.func``, ``Class#method``, ``path/to/file.py:func``."""
        parts = [p for p in _QUAL_SEPARATORS.sub(".", query.strip()).split(".") if p]
        if not parts:
            return []
        candidates = self.by_name(parts[-1])
        if len(parts) == 1:
            return candidates
        want = [p.lower() for p in parts]
        out = []
        for sym in candidates:
            full = [p.lower() for p in f"{sym.module}.{sym.qualname}".split(".") if p]
            # file-extension tolerant: "notes/auth.py:fn" names module "notes.auth".
            if _endswith(full, want) or _endswith(full, [w for w in want if w not in ("py", "rs", "ts", "go")]):
                out.append(sym)
        return out

    def build_lazy_parts(self) -> None:
        """Build now what is otherwise built on first use (the name-word index, the reference indexes, the
        import edges): a server does this after its first answer, so that later ones do not wait."""
        self._word_index()
        self._index_refs()
        self._import_edges()

    def _word_index(self) -> None:
        if self._by_word is None:
            self._by_word = defaultdict(set)
            self._index_words(self._by_name)

    def _index_words(self, names: Iterable[str]) -> None:
        assert self._by_word is not None
        for name in names:
            if name not in self._name_words:
                words = self._name_words[name] = {_stem(w) for w in split_identifier(name)}
                for word in words:
                    self._by_word[word].add(name)

    def name_matches(self, query: str, limit: int = 50) -> list[tuple[Symbol, float]]:
        """Definitions whose split name shares words with ``query``: "html table rows" finds
        ``table_to_html_rows``. Score = share of the name's words matched x share of the query's."""
        self._word_index()
        words = {_stem(w) for w in split_identifier(query) if len(w) > 1}
        if not words:
            return []
        hits: dict[str, int] = defaultdict(int)
        for word in words:
            for name in self._by_word.get(word, ()):
                hits[name] += 1
        scored = []
        for name, n in hits.items():
            score = (n / len(self._name_words[name])) * (n / len(words))
            scored.extend((sym, score) for sym in self.by_name(name))
        # A total order: the words are a set, so ties would otherwise come out in a per-process hash order.
        scored.sort(key=lambda x: (-x[1], len(x[0].path), x[0].path, x[0].start_line, x[0].id))
        return scored[:limit]

    def in_file(self, path: str) -> list[Symbol]:
        return sorted((self.symbols[i] for i in self._by_path.get(path, [])), key=lambda s: s.start_line)

    def enclosing(self, path: str, line: int) -> Symbol | None:
        best = None
        for sym in self.in_file(path):
            if sym.start_line <= line <= sym.end_line and (best is None or sym.start_line >= best.start_line):
                best = sym
        return best

    # ---- references ----------------------------------------------------------------------
    def _index_refs(self) -> None:
        """Index the reference rows not indexed yet, by name, enclosing definition and path."""
        if not self._refs_pending:
            return
        with self._lazy_lock:
            cols, start = self._refs, len(self._refs.get("name", ()))
            for table in self._refs_pending:
                read = table.to_pydict()
                # Receivers repeat (`self`, `this`, `r`): one string object each, not one per row.
                read["receiver"] = [r and sys.intern(r) for r in read["receiver"]]
                for key, values in read.items():
                    cols.setdefault(key, []).extend(values)
            for i, (name, enc, path) in enumerate(zip(cols["name"][start:], cols["enclosing_id"][start:],
                                                      cols["path"][start:]), start):
                self._refs_by_name[name.lower()].append(i)
                self._refs_by_path[path].append(i)
                if enc:
                    self._refs_by_enclosing[enc].append(i)
            self._refs_pending = []  # last: other readers wait on the lock until the indexes are whole

    def _ref(self, i: int) -> Ref:
        c = self._refs
        return Ref(c["name"][i], c["kind"][i], c["path"][i], c["line"][i], c["col"][i], c["enclosing_id"][i],
                   c["receiver"][i])

    def references(self, name: str) -> list[Ref]:
        self._index_refs()
        return [self._ref(i) for i in self._refs_by_name.get(name.lower(), []) if i not in self._dead]

    def callers(self, name: str) -> list[tuple[Ref, Symbol | None]]:
        return [(r, self.symbols.get(r.enclosing_id)) for r in self.references(name) if r.kind == "call"]

    def callees(self, symbol_id: str) -> list[Ref]:
        self._index_refs()
        return [self._ref(i) for i in self._refs_by_enclosing.get(symbol_id, [])
                if self._refs["kind"][i] == "call" and i not in self._dead]

    def call_receivers(self, symbol_id: str) -> dict[str, set[str]]:
        """The names ``symbol_id`` calls, each with the receivers it calls it on ("" for a bare call):
        ``callees`` without making a ``Ref`` per call."""
        self._index_refs()
        c = self._refs
        out: dict[str, set[str]] = {}
        for i in self._refs_by_enclosing.get(symbol_id, []):
            if c["kind"][i] == "call" and i not in self._dead:
                out.setdefault(c["name"][i], set()).add(c["receiver"][i])
        return out

    def bases(self, symbol_id: str) -> list[str]:
        """The names a type's definition extends or implements (its superclasses, interfaces, embedded
        types), in the order written."""
        self._index_refs()
        c = self._refs
        return list(dict.fromkeys(c["name"][i] for i in self._refs_by_enclosing.get(symbol_id, [])
                                  if c["kind"][i] == "implementation" and i not in self._dead))

    # ---- imports -------------------------------------------------------------------------
    def importers(self, path: str) -> list[ImportEdge]:
        return self._import_edges()[1].get(path, [])

    def imported_by(self, path: str) -> list[ImportEdge]:
        return self._import_edges()[0].get(path, [])


def _rows_of(columns: dict[str, list]) -> list[dict[str, Any]]:
    keys = list(columns)
    return [dict(zip(keys, values)) for values in zip(*(columns[k] for k in keys))]


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _endswith(full: list[str], want: list[str]) -> bool:
    return len(want) <= len(full) and full[len(full) - len(want):] == want


class ImportResolver:
    """Map an import string to a file of the repository where the path makes that knowable:
    relative paths, dotted modules (Python, Java, C#, Kotlin), ``crate::`` paths (Rust), package
    directories (Go), header names (C/C++)."""

    _EXTENSIONS = ("", ".py", ".pyi", ".ts", ".tsx", ".js", ".jsx", ".mjs", ".rs", ".go", ".java", ".kt",
                   ".cs", ".swift", ".rb", ".php", ".h", ".hpp", ".c", ".cc", ".cpp", ".m")
    _INDEX_FILES = ("__init__.py", "index.ts", "index.tsx", "index.js", "mod.rs", "lib.rs")

    def __init__(self, files: dict[str, Any]) -> None:
        self._files = set(files)
        self._by_stem: dict[str, list[str]] = defaultdict(list)  # last path component without extension
        self._dirs: dict[str, list[str]] = defaultdict(list)  # directory -> files
        self._dirs_by_name: dict[str, list[str]] = defaultdict(list)  # last component -> directories
        self._cache: dict[tuple[str, str, str | None], str | None] = {}
        for path in sorted(self._files):  # sorted: ties resolve the same way in every process
            base = path.rsplit("/", 1)[-1]
            self._by_stem[base.split(".", 1)[0]].append(path)
            self._dirs[posixpath.dirname(path)].append(path)
        for directory in self._dirs:
            self._dirs_by_name[directory.rsplit("/", 1)[-1]].append(directory)

    def resolve(self, module: str, from_path: str) -> str | None:
        module = module.strip().strip(";").split(" as ")[0].strip()
        if not module:
            return None
        # Only relative forms depend on where the import is written; the rest resolve once per module.
        relative = module.startswith(".") or "/" in module or module.endswith((".h", ".hpp", ".js", ".php", ".rb"))
        key = (module, posixpath.dirname(from_path) if relative else "", _family(from_path))
        if key not in self._cache:
            self._cache[key] = self._resolve(module, from_path)
        return self._cache[key]

    def _resolve(self, module: str, from_path: str) -> str | None:
        here = posixpath.dirname(from_path)
        family = _family(from_path)
        if module.startswith("."):
            if module.startswith(("./", "../")):
                return self._probe(posixpath.normpath(posixpath.join(here, module)))
            dots = len(module) - len(module.lstrip("."))
            base = here
            for _ in range(dots - 1):
                base = posixpath.dirname(base)
            rest = module.lstrip(".").replace(".", "/")
            return self._probe(posixpath.join(base, rest) if rest else base)
        # A path with a known file extension (C headers, Ruby require_relative, PHP requires).
        if "/" in module or module.endswith((".h", ".hpp", ".js", ".php", ".rb")):
            hit = self._probe(posixpath.normpath(posixpath.join(here, module)))
            if hit:
                return hit
            hit = self._suffix(module.lstrip("/"), family)
            segments = module.split("/")
            if hit is None and "." in segments[0] and len(segments) > 1:
                # Go-style `host/owner/module/pkg/dir`: the module prefix is not a folder of the
                # repository, so try ever shorter tails as package directories.
                for i in range(1, len(segments)):
                    hit = self._package_dir("/".join(segments[i:]), family)
                    if hit:
                        break
            return hit
        parts = [p for p in re.split(r"::|\.|\\", module) if p and p not in ("crate", "self", "super", "{", "*")]
        parts = [p.split("{")[0] for p in parts if p.split("{")[0]]
        # Longest prefix that names a file: `a.b.C` may be class C in module a/b.
        for n in range(len(parts), 0, -1):
            hit = self._suffix("/".join(parts[:n]), family)
            if hit:
                return hit
        return None

    def _probe(self, stem: str) -> str | None:
        for ext in self._EXTENSIONS:
            if stem + ext in self._files:
                return stem + ext
        for index in self._INDEX_FILES:
            if f"{stem}/{index}" in self._files:
                return f"{stem}/{index}"
        return None

    def _suffix(self, rel: str, family: str | None = None) -> str | None:
        """A file whose path ends with ``rel`` (plus an extension), or a package directory's index.
        With ``family``, only files of the importer's language family count (a Go import of
        ``net/http`` is not ``src/net/http.rs``; a Python ``import settings`` is not ``settings.toml``)."""
        last = rel.rsplit("/", 1)[-1]
        stem = last.split(".", 1)[0] if "." in last and last.rsplit(".", 1)[-1] in _EXT_NAMES else last
        rel_stem = rel[: len(rel) - len(last)] + stem
        matches = [p for p in self._by_stem.get(stem, [])
                   if (family is None or _family(p) == family)
                   and (p.rsplit(".", 1)[0] == rel_stem or p.rsplit(".", 1)[0].endswith("/" + rel_stem)
                        or p == rel or p.endswith("/" + rel))]
        if matches:
            # A name written with its extension (`ringbuf.h`) means that file, not `ringbuf.c`.
            exact = [p for p in matches if p == rel or p.endswith("/" + rel)]
            return min(exact or matches, key=lambda p: (len(p), p))
        return self._package_dir(rel, family, suffix=True)

    def _package_dir(self, rel: str, family: str | None, suffix: bool = False) -> str | None:
        """The index file (or else the first file of the importer's family) of the directory
        ``rel``, or, with ``suffix``, of the shortest directory whose path ends with ``rel``."""
        candidates = self._dirs_by_name.get(rel.rsplit("/", 1)[-1], [])
        dirs = sorted((d for d in candidates if d == rel or (suffix and d.endswith("/" + rel))),
                      key=lambda d: (len(d), d))
        for directory in dirs:
            files = [p for p in self._dirs[directory] if family is None or _family(p) == family]
            for index in self._INDEX_FILES:
                if f"{directory}/{index}" in files:
                    return f"{directory}/{index}"
            if files:
                return min(files)
        return None


_EXT_NAMES = {e.lstrip(".") for e in ImportResolver._EXTENSIONS if e}
# Extensions whose files can import one another; an unknown extension imposes no restriction.
_FAMILIES = {ext: family for family, exts in {
    "python": ".py .pyi", "js": ".ts .tsx .mts .cts .js .jsx .mjs .cjs",
    "c": ".c .h .cc .cpp .cxx .hh .hpp .hxx .m .mm", "jvm": ".java .kt .kts .scala", "rust": ".rs",
    "go": ".go", "csharp": ".cs", "swift": ".swift", "ruby": ".rb", "php": ".php"}.items()
    for ext in exts.split()}


@lru_cache(maxsize=1 << 16)
def _family(path: str) -> str | None:
    return _FAMILIES.get(posixpath.splitext(path)[1].lower())
