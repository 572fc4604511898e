"""Turn a repository into a searchable index: discover -> parse -> chunk -> embed -> store.

This package imports nothing else of the project's; ``sgmcp`` and ``trainer`` build on it.
"""

from .discover import discover
from .graph import Graph
from .model import Chunk, Definition, Import, ParsedFile, Reference
from .parser import parse_file
from .pipeline import IndexSummary, default_index_dir, index_repository
from .store import IndexStore

__all__ = ["Chunk", "Definition", "Graph", "Import", "IndexStore", "IndexSummary", "ParsedFile", "Reference",
           "default_index_dir", "discover", "index_repository", "parse_file"]
