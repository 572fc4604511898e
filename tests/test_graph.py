"""The in-memory symbol/call/import graph, over the indexed sample repository, and the import resolver."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.graph import Graph, ImportResolver
from indexer.store import IndexStore


@pytest.fixture(scope="module")
def graph(sample_index: tuple[Path, str]) -> Graph:
    _, index_dir = sample_index
    return Graph(IndexStore(index_dir).snapshot())


def _where(symbols: list) -> set[tuple[str, str]]:
    return {(s.path, s.qualname) for s in symbols}


# ---- definitions --------------------------------------------------------------------------------

def test_definition_of_a_function(graph: Graph) -> None:
    [sym] = graph.definitions("slugify")
    assert (sym.path, sym.start_line, sym.kind, sym.qualname) == ("notes/markdown.py", 20, "function", "slugify")
    assert sym.language == "python"
    assert sym.module == "notes.markdown"
    assert sym.end_line > sym.start_line


def test_definitions_are_case_insensitive(graph: Graph) -> None:
    assert _where(graph.definitions("SLUGIFY")) == {("notes/markdown.py", "slugify")}
    assert _where(graph.definitions("notestore.SAVE")) == {("notes/storage.py", "NoteStore.save")}


@pytest.mark.parametrize("query", [
    "NoteStore.save", "NoteStore::save", "NoteStore#save", "notes.storage.NoteStore.save",
    "storage.NoteStore.save", "notes/storage.py:NoteStore.save", "  NoteStore.save  ",
])
def test_qualified_method_lookups(graph: Graph, query: str) -> None:
    [sym] = graph.definitions(query)
    assert (sym.path, sym.qualname, sym.kind, sym.start_line) == ("notes/storage.py", "NoteStore.save", "method", 69)


@pytest.mark.parametrize("query", ["notes/storage.py:NoteStore", "notes.storage.NoteStore", "NoteStore"])
def test_qualified_class_lookups(graph: Graph, query: str) -> None:
    [sym] = graph.definitions(query)
    assert (sym.path, sym.qualname, sym.kind, sym.start_line) == ("notes/storage.py", "NoteStore", "class", 48)


def test_qualified_lookups_in_other_languages(graph: Graph) -> None:
    assert _where(graph.definitions("NotesClient.listNotes")) == {("web/api.ts", "NotesClient.listNotes")}
    assert _where(graph.definitions("web/api.ts:fetchWithRetry")) == {("web/api.ts", "fetchWithRetry")}


def test_qualified_lookup_with_a_wrong_qualifier_finds_nothing(graph: Graph) -> None:
    assert graph.definitions("Note.save") == []
    assert graph.definitions("notes.auth.slugify") == []
    assert graph.definitions("no_such_function_anywhere") == []
    assert graph.definitions("") == []
    assert graph.definitions("::") == []


def test_name_matches_order_does_not_depend_on_the_hash_seed(sample_index: tuple[Path, str]) -> None:
    """Ties in name_matches come out in one order in every process (the query's words are a set)."""
    import ast
    import os
    import subprocess
    import sys

    _, index_dir = sample_index
    script = ("import sys; from indexer.graph import Graph; from indexer.store import IndexStore; "
              "g = Graph(IndexStore(sys.argv[1]).snapshot()); "
              "print([(s.path, s.start_line) for s, _ in g.name_matches('save load note store user password hash', 50)])")
    outputs = {subprocess.run([sys.executable, "-c", script, index_dir], capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONHASHSEED": str(seed)}).stdout for seed in range(4)}
    assert len(outputs) == 1 and len(ast.literal_eval(next(iter(outputs)))) > 5


def test_in_file_and_enclosing(graph: Graph) -> None:
    names = [s.qualname for s in graph.in_file("notes/auth.py")]
    assert names[:3] == ["hash_password", "register_user", "authenticate_user"]
    enclosing = graph.enclosing("notes/storage.py", 72)  # inside NoteStore.save
    assert enclosing is not None and enclosing.qualname == "NoteStore.save"


# ---- references ---------------------------------------------------------------------------------

def test_bases_of_a_type(graph: Graph) -> None:
    [exporter] = [s for s in graph.definitions("CsvExporter") if s.kind == "class"]  # not its constructors
    assert graph.bases(exporter.id) == ["Exporter"]
    [api_error] = graph.definitions("ApiError")
    assert graph.bases(api_error.id) == ["Error"]
    assert graph.bases(graph.definitions("NoteStore.save")[0].id) == []


def test_callers_of_a_python_function(graph: Graph) -> None:
    callers = graph.callers("hash_password")
    where = {(ref.path, sym.qualname if sym else None) for ref, sym in callers}
    assert {("notes/auth.py", "register_user"), ("notes/auth.py", "authenticate_user")} <= where
    assert all(ref.kind == "call" for ref, _ in callers)
    lines = {ref.line for ref, sym in callers if sym and sym.qualname == "register_user"}
    assert lines == {31}


def test_callers_of_a_typescript_function(graph: Graph) -> None:
    where = {(ref.path, sym.qualname if sym else None) for ref, sym in graph.callers("fetchWithRetry")}
    assert {("web/api.ts", "NotesClient.listNotes"), ("web/api.ts", "NotesClient.saveNote"),
            ("web/api.ts", "NotesClient.deleteNote")} <= where


def test_callees_of_a_method(graph: Graph) -> None:
    [record] = graph.definitions("NoteStore._record")
    callees = {ref.name for ref in graph.callees(record.id)}
    assert {"rotate_log_if_needed", "max_log_bytes"} <= callees
    assert "slugify" not in callees  # called by _path_for, not by _record


def test_references_are_case_insensitive(graph: Graph) -> None:
    assert graph.references("HASH_PASSWORD") == graph.references("hash_password") != []


# ---- imports ------------------------------------------------------------------------------------

def test_importers_of_a_python_module(graph: Graph) -> None:
    importers = {e.path for e in graph.importers("notes/markdown.py")}
    # notes/__init__.py, cli.py, search.py and storage.py all do `from notes.markdown import ...`
    assert {"notes/__init__.py", "notes/cli.py", "notes/search.py", "notes/storage.py",
            "tests/test_markdown.py"} <= importers
    [edge] = [e for e in graph.importers("notes/markdown.py") if e.path == "notes/cli.py"]
    assert edge.module == "notes.markdown" and edge.line == 13
    assert {"slugify", "render_markdown"} <= set(edge.names)


def test_imports_resolved_across_languages(graph: Graph) -> None:
    def resolved(path: str) -> dict[str, str | None]:
        return {e.module: e.resolved for e in graph.imported_by(path)}

    assert resolved("notes/cli.py")["notes.storage"] == "notes/storage.py"
    assert resolved("notes/cli.py")["argparse"] is None  # standard library
    assert resolved("web/store.ts")["./api"] == "web/api.ts"
    assert resolved("web/render.tsx")["./utils.js"] == "web/utils.js"
    assert resolved("c/ringbuf.c")["ringbuf.h"] == "c/ringbuf.h"
    assert resolved("c/ringbuf.c")["stdlib.h"] is None
    assert resolved("rust/src/lib.rs")["cache::LruCache"] == "rust/src/cache.rs"
    assert {e.path for e in graph.importers("web/api.ts")} >= {"web/store.ts", "web/render.tsx"}


# ---- the resolver on a synthetic tree ------------------------------------------------------------

_FILES = dict.fromkeys([
    "pkg/__init__.py", "pkg/util.py", "pkg/sub/__init__.py", "pkg/sub/a.py", "pkg/sub/b.py",
    "settings.toml",
    "web/store.ts", "web/app.ts", "web/components/list.tsx", "web/lib/x/index.ts", "web/utils.js",
    "src/lib.rs", "src/cache.rs", "src/net/mod.rs", "src/net/http.rs",
    "c/ringbuf.h", "c/ringbuf.c", "c/main.c", "include/common/defs.h", "tools/ringbuf.c",
    "internal/ratelimit/README.md", "internal/ratelimit/limiter.go", "internal/ratelimit/bucket.go",
    "cmd/server/main.go",
    "java/src/com/example/notes/Exporter.java", "java/src/com/example/notes/CsvExporter.java",
], "")


@pytest.fixture(scope="module")
def resolver() -> ImportResolver:
    return ImportResolver(_FILES)


@pytest.mark.parametrize(("module", "from_path", "expected"), [
    # Python: relative (dots climb packages) and absolute dotted modules
    ("..util", "pkg/sub/a.py", "pkg/util.py"),
    (".b", "pkg/sub/a.py", "pkg/sub/b.py"),
    (".", "pkg/sub/a.py", "pkg/sub/__init__.py"),
    ("..", "pkg/sub/a.py", "pkg/__init__.py"),
    ("pkg.sub.a", "main.py", "pkg/sub/a.py"),
    ("pkg.sub.a.some_function", "main.py", "pkg/sub/a.py"),  # `from pkg.sub.a import some_function`
    ("pkg.sub", "main.py", "pkg/sub/__init__.py"),
    ("pkg", "main.py", "pkg/__init__.py"),
    # TypeScript / JavaScript: paths relative to the importing file, folder index files
    ("./store", "web/app.ts", "web/store.ts"),
    ("./utils.js", "web/app.ts", "web/utils.js"),
    ("../lib/x", "web/components/list.tsx", "web/lib/x/index.ts"),
    ("../store", "web/components/list.tsx", "web/store.ts"),
    # Rust: crate::, super:: and module directories
    ("crate::cache::LruCache", "src/lib.rs", "src/cache.rs"),
    ("crate::net::http::get", "src/lib.rs", "src/net/http.rs"),
    ("crate::net", "src/lib.rs", "src/net/mod.rs"),
    ("super::cache", "src/net/http.rs", "src/cache.rs"),
    # C: a quoted header beside the includer first, then by path suffix
    ("ringbuf.h", "c/ringbuf.c", "c/ringbuf.h"),
    ("ringbuf.h", "tools/ringbuf.c", "c/ringbuf.h"),  # a header, never the .c of the same stem
    ("common/defs.h", "c/main.c", "include/common/defs.h"),
    # Go: an import path names a package directory; the module path prefix is not in the repo
    ("github.com/acme/notes/internal/ratelimit", "cmd/server/main.go", "internal/ratelimit/bucket.go"),
    ("internal/ratelimit", "cmd/server/main.go", "internal/ratelimit/bucket.go"),
    # Java: a fully qualified class names its file
    ("com.example.notes.Exporter", "java/src/com/example/notes/CsvExporter.java",
     "java/src/com/example/notes/Exporter.java"),
])
def test_resolver_resolves(resolver: ImportResolver, module: str, from_path: str, expected: str) -> None:
    assert resolver.resolve(module, from_path) == expected


@pytest.mark.parametrize(("module", "from_path"), [
    ("requests", "pkg/sub/a.py"),
    ("numpy.linalg", "pkg/sub/a.py"),
    ("os.path", "pkg/sub/a.py"),
    ("settings", "pkg/sub/a.py"),  # settings.toml is not a Python module
    ("react", "web/app.ts"),
    ("lodash/fp", "web/app.ts"),
    ("@angular/core", "web/app.ts"),
    ("./missing", "web/app.ts"),
    ("std::collections::HashMap", "src/lib.rs"),
    ("stdio.h", "c/main.c"),
    ("net/http", "cmd/server/main.go"),  # Go's standard library, not src/net/http.rs
    ("fmt", "cmd/server/main.go"),
    ("github.com/stretchr/testify/assert", "cmd/server/main.go"),
    ("java.util.List", "java/src/com/example/notes/Exporter.java"),
    ("", "a.py"),
])
def test_resolver_leaves_third_party_imports_unresolved(resolver: ImportResolver, module: str,
                                                        from_path: str) -> None:
    assert resolver.resolve(module, from_path) is None


def test_resolver_is_deterministic() -> None:
    # two equally good candidates: the answer must not depend on set iteration order
    files = ["a/util.py", "b/util.py", "c/helpers/index.ts", "d/helpers/index.ts"]
    answers = {(ImportResolver(dict.fromkeys(order)).resolve("util", "x.py"),
                ImportResolver(dict.fromkeys(order)).resolve("helpers", "x.ts"))
               for order in (files, files[::-1], files[1::2] + files[::2])}
    assert answers == {("a/util.py", "c/helpers/index.ts")}
