"""Identifier splitting for the BM25 column."""

from __future__ import annotations

import pytest

from indexer.identifiers import split_identifier, split_text


@pytest.mark.parametrize(
    ("identifier", "words"),
    [
        # the common conventions
        ("parseConfig", ["parse", "config"]),
        ("ParseConfig", ["parse", "config"]),
        ("parse_config", ["parse", "config"]),
        ("parse-config", ["parse", "config"]),
        ("MAX_RETRY_COUNT", ["max", "retry", "count"]),
        ("__init__", ["init"]),
        # acronyms: a run of capitals ends one letter before the next word starts
        ("HTTPServer", ["http", "server"]),
        ("getHTTPResponseCode", ["get", "http", "response", "code"]),
        ("XMLHttpRequest", ["xml", "http", "request"]),
        ("IOError", ["io", "error"]),
        ("URL", ["url"]),
        # digits are words of their own
        ("utf8Decode", ["utf", "8", "decode"]),
        ("v2Api", ["v", "2", "api"]),
        ("sha256sum", ["sha", "256", "sum"]),
        ("parseHTTPResponse_v2", ["parse", "http", "response", "v", "2"]),
        # trivial inputs
        ("x", ["x"]),
        ("", []),
        ("___", []),
    ],
)
def test_split_identifier(identifier: str, words: list[str]) -> None:
    assert split_identifier(identifier) == words


def test_split_identifier_handles_qualified_names() -> None:
    assert split_identifier("NoteStore::save") == ["note", "store", "save"]
    assert split_identifier("pkg.mod.func_name") == ["pkg", "mod", "func", "name"]


def test_split_text_keeps_the_joined_compound_before_its_words() -> None:
    assert split_text("parse_config") == "parseconfig parse config"
    assert split_text("fooBar") == "foobar foo bar"
    assert split_text("HTTPServer") == "httpserver http server"


def test_split_text_leaves_single_words_alone() -> None:
    # a one-word identifier is not duplicated
    assert split_text("return x") == "return x"


def test_split_text_over_code() -> None:
    out = split_text("def parse_config(path): return HTTPServer(path)").split()
    assert out == ["def", "parseconfig", "parse", "config", "path", "return",
                   "httpserver", "http", "server", "path"]


def test_split_text_hyphen_separates_identifiers() -> None:
    # `-` is an operator in most languages: each side is its own identifier, no compound is made
    assert split_text("foo-bar") == "foo bar"


def test_split_text_ignores_punctuation() -> None:
    assert split_text("  ;;; () {} ") == ""
    assert split_text("a.b->c::d") == "a b c d"
