"""Plain records produced by parsing; nothing here holds a tree-sitter node."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Kinds that hold other definitions; a function inside one of these is a method.
CONTAINER_KINDS = frozenset(
    {"class", "struct", "interface", "trait", "impl", "enum", "module", "namespace", "object",
     "protocol", "extension", "union"}
)


@dataclass(slots=True)
class Definition:
    id: str
    name: str
    qualname: str
    kind: str
    path: str
    language: str
    start_line: int  # 1-based, inclusive
    end_line: int
    container: str = ""
    signature: str = ""
    parameters: str = ""
    return_type: str = ""
    doc: str = ""


@dataclass(slots=True)
class Reference:
    name: str
    kind: str  # call | type | class | implementation | ...
    path: str
    line: int
    col: int
    enclosing_id: str = ""  # id of the innermost definition holding the reference ("" = module level)
    # A call's receiver: the expression before the `.`/`->`/`?.` of a member call (`self` in `self.f()`,
    # `strings` in `strings.Index()`), or a scoped path's scope with its `::` (`Vec::` in `Vec::new()`);
    # "" for a bare call `f()` and for references that are not calls.
    receiver: str = ""


@dataclass(slots=True)
class Import:
    path: str
    module: str
    line: int
    names: list[str] = field(default_factory=list)  # as written: "parse", "parse as _parse"


_AS = re.compile(r"\s+as\s+")


def imported_as(name: str) -> tuple[str, str]:
    """One of an import's names as (the name where it is defined, what the importing file calls it):
    ``parse_requirement as _parse_requirement`` gives both (however the source spaces or breaks it),
    ``parse`` the same name twice."""
    original, *alias = _AS.split(name.strip(), maxsplit=1)
    original = original.rsplit(".", 1)[-1]
    return original, alias[0] if alias else original


@dataclass(slots=True)
class Chunk:
    id: str
    path: str
    language: str
    kind: str  # a definition kind, "module" for top-level code, "window" for plain text
    name: str
    qualname: str
    container: str
    start_line: int
    end_line: int
    code: str
    signature: str = ""
    parameters: str = ""
    return_type: str = ""
    doc: str = ""
    calls: list[str] = field(default_factory=list)
    imports: list[str] = field(default_factory=list)
    definition_id: str = ""


@dataclass(slots=True)
class ParsedFile:
    path: str
    language: str
    definitions: list[Definition] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    imports: list[Import] = field(default_factory=list)
    chunks: list[Chunk] = field(default_factory=list)
    syntax_errors: bool = False
