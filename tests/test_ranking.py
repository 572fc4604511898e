"""sgmcp.ranking: which code counts as tests, and the code rules applied after fusion."""

from __future__ import annotations

import pytest

from sgmcp.ranking import Candidate, apply_code_rules, asks_for_tests, is_test_code


@pytest.mark.parametrize(("path", "qualname", "expected"), [
    ("src/core.rs", "tests.wraps_long_words", True),  # Rust: #[cfg(test)] mod tests in the same file
    ("src/core.rs", "core.tests.helper.inner", True),
    ("tests/test_core.py", "test_wrap", True),
    ("src/text.rs", "test_split_lines", True),  # #[test] fn at the top of a Rust file
    ("src/text.py", "test_split_lines", False),  # elsewhere a test_ function lives in a test file
    ("src/core.rs", "wrap", False),
    ("src/core.rs", "Options.tests", False),  # a method named `tests` is not inside a tests module
    ("src/latest.py", "latest.run", False),
])
def test_is_test_code(path: str, qualname: str, expected: bool) -> None:
    assert is_test_code(path, qualname) is expected


@pytest.mark.parametrize(("text", "expected"), [
    ("which test checks diff", True),
    ("the unit tests of parse", True),
    ("tests for the parser", True),
    ("SetURLVars test helper", True),
    ("where is the fixture for users", True),
    ("which function tests one character, given the one before it", False),  # the verb asks for code
    ("which method does the iterator call to test the entry's file name", False),
    ("rejects a spec with too few fields", False),
])
def test_asks_for_tests(text: str, expected: bool) -> None:
    assert asks_for_tests(text) is expected


def _cand(id_: str, qualname: str, score: float) -> Candidate:
    return Candidate({"id": id_, "path": "src/lib.rs", "kind": "function", "qualname": qualname}, score)


def test_code_rules_put_an_inline_test_below_the_code_it_tests() -> None:
    ranked = apply_code_rules([_cand("t", "tests.fill_simple", 1.0), _cand("f", "fill", 0.8)], "fill text to a width")
    assert [c.key for c in ranked] == ["f", "t"]
    asked = apply_code_rules([_cand("t", "tests.fill_simple", 1.0), _cand("f", "fill", 0.8)], "the test of fill")
    assert [c.key for c in asked] == ["t", "f"]
