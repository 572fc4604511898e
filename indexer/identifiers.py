"""Split identifiers into lower-case words for BM25 (LanceDB's FTS has no identifier tokenizer)."""

from __future__ import annotations

import re
from functools import lru_cache

_WORD = re.compile(r"[A-Za-z0-9]+")
# Boundaries inside one alphanumeric run: fooBar, HTTPServer, utf8Decode, v2Api.
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


def split_identifier(identifier: str) -> list[str]:
    """``parseHTTPResponse_v2`` -> ``["parse", "http", "response", "v", "2"]``."""
    words: list[str] = []
    for run in _WORD.findall(identifier):
        words.extend(part.lower() for part in _CAMEL.findall(run))
    return words


def split_text(text: str) -> str:
    """Every identifier in ``text`` split into words; whole compound identifiers are kept too,
    so an exact ``parse_config`` query still scores higher than its words scattered apart."""
    return " ".join(filter(None, map(_split_run, _RUN.findall(text))))


_RUN = re.compile(r"[A-Za-z0-9_]+")


@lru_cache(maxsize=1 << 16)  # code repeats its identifiers; this is the indexer's hottest loop
def _split_run(run: str) -> str:
    parts = split_identifier(run)
    if len(parts) > 1:
        return " ".join((run.lower().replace("_", ""), *parts))
    return " ".join(parts)
