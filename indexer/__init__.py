"""Turn a repository into a searchable index: discover -> parse -> chunk -> embed -> store.

This package imports nothing else of the project's; ``sgmcp`` and ``trainer`` build on it. Its public names
load on first use: a server answering from the start-up copy needs the graph and the store, not the parser.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Chunk": "model", "Definition": "model", "Import": "model", "ParsedFile": "model", "Reference": "model",
    "Graph": "graph", "IndexStore": "store", "default_index_dir": "store", "IndexSummary": "pipeline",
    "index_repository": "pipeline", "discover": "discover", "parse_file": "parser",
}
__all__ = ["Chunk", "Definition", "Graph", "Import", "IndexStore", "IndexSummary", "ParsedFile", "Reference",
           "default_index_dir", "discover", "index_repository", "parse_file"]

if TYPE_CHECKING:
    from .discover import discover
    from .graph import Graph
    from .model import Chunk, Definition, Import, ParsedFile, Reference
    from .parser import parse_file
    from .pipeline import IndexSummary, index_repository
    from .store import IndexStore, default_index_dir


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'indexer' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
