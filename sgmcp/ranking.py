"""Fusing ranked candidate lists and the code-aware rules applied after fusion."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

RRF_K = 60
_TEST_PATH = re.compile(r"(^|/)(tests?|spec|__tests__|testing)(/|$)|(^|/)test_[^/]*$|_test\.\w+$|\.(test|spec)\.\w+$")
_DEMOTED_PATH = re.compile(r"(^|/)(examples?|docs?|benchmarks?|fixtures?|generated|gen|build|dist)(/|$)")
_TEST_MODULES = frozenset({"tests", "test"})
# Asking for tests, not using the verb: "which test", "unit tests", "tests of X", "test helper"; but "which
# function tests one character" or "test the file name against the pattern" ask for code (the verb matched
# 12 of the 681 multi-hop questions, none of which asked for a test).
_ASKS_FOR_TESTS = re.compile(
    r"\b(?:(?:which|what|unit|integration|regression)\s+tests?\b|tests?\s+(?:of|for)\b"
    r"|tests\b(?!\s+(?:the|a|an|one|two|whether|if|that|each|every|its|it)\b)"
    r"|test\s+(?:cases?|suites?|files?|functions?|modules?|helpers?)\b|specs\b|fixtures?\b|mocks?\b|pytest|unittest)",
    re.I)


@dataclass(slots=True)
class Candidate:
    """One chunk row with the evidence that retrieved it."""

    row: dict[str, Any]
    score: float = 0.0
    sources: dict[str, int] = field(default_factory=dict)  # retriever -> rank (0-based)

    @property
    def key(self) -> str:
        return self.row["id"]


def fuse(lists: dict[str, Sequence[dict[str, Any]]], weights: dict[str, float]) -> list[Candidate]:
    """Weighted reciprocal-rank fusion of several ranked row lists (rows keyed by ``id``)."""
    merged: dict[str, Candidate] = {}
    for source, rows in lists.items():
        w = weights.get(source, 1.0)
        for rank, row in enumerate(rows):
            cand = merged.setdefault(row["id"], Candidate(row))
            if source not in cand.sources:
                cand.sources[source] = rank
                cand.score += w / (RRF_K + rank + 1)
    return sorted(merged.values(), key=lambda c: -c.score)


def asks_for_tests(text: str) -> bool:
    return bool(_ASKS_FOR_TESTS.search(text))


def is_test_path(path: str) -> bool:
    return bool(_TEST_PATH.search(path))


def is_test_code(path: str, qualname: str = "") -> bool:
    """A test file, or a definition inside a ``tests`` module of its file (Rust's ``#[cfg(test)] mod tests``)
    or a Rust ``test_*`` function (``#[test] fn test_split_lines`` beside the code)."""
    *containers, name = qualname.split(".")
    return is_test_path(path) or any(part in _TEST_MODULES for part in containers) \
        or (path.endswith(".rs") and name.startswith("test_"))


def apply_code_rules(cands: list[Candidate], query: str) -> list[Candidate]:
    """Prefer definitions over loose module code and text windows, and the project's own code over
    tests, examples and docs unless the query asks for them."""
    wants_tests = asks_for_tests(query)
    for c in cands:
        kind = c.row.get("kind", "")
        path = c.row.get("path", "")
        if kind == "window":
            c.score *= 0.7
        elif kind == "module":
            c.score *= 0.85
        if not wants_tests and is_test_code(path, c.row.get("qualname") or ""):
            c.score *= 0.6
        elif _DEMOTED_PATH.search(path):
            c.score *= 0.85
    return sorted(cands, key=lambda c: -c.score)


def drop_overlaps(cands: Iterable[Candidate], k: int) -> list[Candidate]:
    """Keep the best of chunks that overlap in one file (a class and its method, say), up to ``k``.
    A container that merely holds a better-ranked member is dropped; the member is more precise."""
    kept: list[Candidate] = []
    for c in cands:
        r = c.row
        if any(o.row["path"] == r["path"] and o.row["start_line"] <= r["end_line"]
               and r["start_line"] <= o.row["end_line"] for o in kept):
            continue
        kept.append(c)
        if len(kept) >= k:
            break
    return kept
