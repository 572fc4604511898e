"""The language table: which grammar and tags query serve which file, loaded from data files."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from tree_sitter import Language, Parser, Query

_HERE = Path(__file__).parent
QUERIES_DIR = _HERE / "queries"


@dataclass(frozen=True, slots=True)
class LanguageSpec:
    name: str
    grammar: str
    extensions: tuple[str, ...]
    comments: frozenset[str]
    docstring: bool
    returns: tuple[str, ...]
    wrappers: frozenset[str]

    @property
    def query_path(self) -> Path:
        return QUERIES_DIR / f"{self.name}-tags.scm"


@cache
def specs() -> dict[str, LanguageSpec]:
    table = tomllib.loads((_HERE / "languages.toml").read_text())
    return {
        name: LanguageSpec(
            name=name,
            grammar=row["grammar"],
            extensions=tuple(row["extensions"]),
            comments=frozenset(row.get("comments", [])),
            docstring=bool(row.get("docstring", False)),
            returns=tuple(row.get("returns", [])),
            wrappers=frozenset(row.get("wrappers", [])),
        )
        for name, row in table.items()
    }


@cache
def _by_extension() -> dict[str, LanguageSpec]:
    return {ext: spec for spec in specs().values() for ext in spec.extensions}


def language_for(path: str) -> LanguageSpec | None:
    """The parsed language of ``path`` by its extension, or None (fallback chunking)."""
    suffix = Path(path).suffix.lower()
    return _by_extension().get(suffix)


@cache
def grammar(spec: LanguageSpec) -> tuple[Language, Query]:
    from tree_sitter_language_pack import get_language

    language = get_language(spec.grammar)
    return language, Query(language, spec.query_path.read_text())


def parser_for(spec: LanguageSpec) -> Parser:
    language, _ = grammar(spec)
    return Parser(language)
