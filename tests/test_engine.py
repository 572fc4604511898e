"""The query engine's view of a changing index: patched in place after small commits, and equal to
a fresh load."""

from __future__ import annotations

import shutil
from pathlib import Path

from indexer.graph import Graph
from indexer.pipeline import index_repository
from sgmcp.engine import Engine

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "sample_repo"


def _view(graph: Graph) -> tuple:
    symbols = sorted((s.path, s.qualname, s.start_line) for s in graph.symbols.values())
    refs = sorted((r.path, r.line, r.name) for name in {s.name for s in graph.symbols.values()}
                  for r in graph.references(name))
    importers = sorted((path, e.path) for path in graph.files for e in graph.importers(path))
    return symbols, refs, importers, sorted(graph.files)


def test_graph_is_patched_after_small_commits(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns(".sgmcp"))
    ix = str(tmp_path / "ix")
    index_repository(root, ix)
    engine = Engine(root, ix)
    graph = engine.graph
    assert engine.find_definition("slugify")[0].path == "notes/markdown.py"
    assert not [s for s, _ in graph.name_matches("make slug") if s.name == "make_slug"]  # builds the word index

    markdown = root / "notes" / "markdown.py"
    markdown.write_text(markdown.read_text().replace("def slugify(", "def make_slug("))
    (root / "notes" / "search.py").unlink()
    (root / "notes" / "extra.py").write_text("from notes.markdown import make_slug\n\n\ndef tag(x):\n"
                                             "    return make_slug(x)\n")
    index_repository(root, ix, paths=["notes/markdown.py"])
    index_repository(root, ix, paths=["notes/search.py", "notes/extra.py"])
    assert engine.refresh()
    assert engine.graph is graph  # patched, not reloaded
    assert not engine.find_definition("slugify") or engine.find_definition("slugify")[0].symbol != "slugify"
    assert engine.find_definition("make_slug")[0].path == "notes/markdown.py"
    assert [s for s, _ in graph.name_matches("make slug") if s.name == "make_slug"]  # patched into the word index
    assert engine.find_definition("make_slg")[0].symbol == "make_slug"  # near spelling
    assert ("notes/extra.py", "tag") in {(r.path, r.symbol) for r in engine.find_usages("make_slug")}
    assert _view(engine.graph) == _view(Graph(engine.snapshot))
    assert not engine.refresh()  # nothing new

    cli = root / "notes" / "cli.py"  # same set of files, new content: only its own edges move
    cli.write_text(cli.read_text().replace("import argparse\n", "import argparse\nfrom notes.storage import NoteStore\n"))
    index_repository(root, ix, paths=["notes/cli.py"])
    assert engine.refresh() and engine.graph is graph
    assert _view(engine.graph) == _view(Graph(engine.snapshot))
    assert "notes/cli.py" in {e.path for e in engine.graph.importers("notes/storage.py")}


def test_overloads_are_joined_with_their_implementation(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "core.ts").write_text(
        "export class Ajv {\n"
        "  compile(schema: string): number\n"
        "  // the widest form\n"
        "  compile(\n    schema: object\n  ): number\n"
        "  compile(schema: any): number {\n    return this.add(schema)\n  }\n"
        "  add(schema: any): number {\n    return 1\n  }\n"
        "}\n")
    (root / "conv.py").write_text(
        "from typing import overload\n\n\n@overload\ndef conv(x: int) -> int: ...\n@overload\n"
        "def conv(x: str) -> str: ...\ndef conv(x):\n    return x\n\n\ndef other():\n    return conv(1)\n")
    ix = str(tmp_path / "ix")
    index_repository(root, ix)
    engine = Engine(root, ix)
    [compile_] = engine.find_definition("Ajv.compile")
    assert (compile_.start_line, compile_.end_line) == (2, 9)
    assert "return this.add(schema)" in compile_.snippet and "compile(schema: string)" in compile_.snippet
    conv = engine.find_definition("conv")
    assert [(r.start_line, r.end_line) for r in conv] == [(4, 9)]
    assert [(r.start_line, r.end_line) for r in engine.find_definition("add")] == [(10, 12)]
    # search finds the signatures' words too, but answers with the implementation, once
    for results in (engine.semantic_search("compile schema", 5), engine.lexical_search("compile schema", 5)):
        assert [(r.start_line, r.end_line) for r in results if r.symbol == "Ajv.compile"] == [(7, 9)]
