"""Random and hostile arguments for every MCP tool, through the official client over stdio against the
real server: each call is a valid, schema-conforming answer or a clear error; no answer ever holds a
file from outside the repository; nothing sent is executed; the server survives all of it.

One server serves every example: the client lives in an event loop on a background thread (an anyio
blocking portal), and the synchronous hypothesis tests send their calls through it."""

from __future__ import annotations

import functools
import json
import os
import shutil
import sys
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from anyio.from_thread import start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from indexer.pipeline import index_repository

pytestmark = pytest.mark.integration
SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "sample_repo"
PASSWD_MARKERS = ("root:x:0:0", "daemon:x:", "/usr/sbin/nologin")
LEAKY = "def leaky_function():\n    first = 1\n    second = 2\n    third = 3\n    return first + second + third\n"
FUZZ = settings(max_examples=60, deadline=None, database=None, derandomize=True,  # CI must be deterministic
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])


class Client:
    def __init__(self, portal: Any, session: ClientSession, root: Path, marker: Path) -> None:
        self.portal, self.session, self.root, self.marker = portal, session, root, marker
        tools = portal.call(session.list_tools).tools
        self.tools = {t.name: t for t in tools}
        self.outcomes: dict[str, Counter[str]] = defaultdict(Counter)

    def call(self, tool: str, args: dict[str, Any]) -> Any:
        res = self.portal.call(functools.partial(self.session.call_tool, tool, args, read_timeout_seconds=60))
        self.outcomes[tool]["error" if res.is_error else "ok"] += 1
        return res


@asynccontextmanager
async def _session(params: StdioServerParameters) -> AsyncIterator[ClientSession]:
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            yield session


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    base = tmp_path_factory.mktemp("fuzz")
    root = base / "repo"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns(".sgmcp"))
    # Links that lead out of the repository, made before indexing (discovery must not follow them) ...
    os.symlink("/etc/passwd", root / "passwd_link.py")
    os.symlink("/etc", root / "etc_link")
    os.symlink("loop", root / "loop")
    (root / "notes" / "leak.py").write_text(LEAKY)
    index_repository(root)
    # ... and an indexed file swapped for such a link afterwards (the index has not seen the swap).
    (root / "notes" / "leak.py").unlink()
    os.symlink("/etc/passwd", root / "notes" / "leak.py")
    marker = base / "executed"
    env = {k: v for k, v in os.environ.items()
           if k not in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "SGMCP_RERANK", "SGMCP_TOKEN")}
    env.update(LANCEDB_LOG="error", HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    params = StdioServerParameters(command=sys.executable,
                                   args=["-m", "sgmcp", "serve", "--repo", str(root), "--no-watch"], env=env)
    with start_blocking_portal() as portal:
        with portal.wrap_async_context_manager(_session(params)) as session:
            yield Client(portal, session, root, marker)


# ---- checking answers --------------------------------------------------------------------
def _no_outside_content(res: Any) -> str:
    dumped = json.dumps(res.model_dump(mode="json"))
    for marker in PASSWD_MARKERS:
        assert marker not in dumped, f"content of /etc/passwd in an answer: {dumped[:500]}"
    return dumped


def check(client: Client, tool: str, args: dict[str, Any], res: Any) -> None:
    _no_outside_content(res)
    if res.is_error:
        text = " ".join(getattr(c, "text", "") for c in res.content)
        assert text.strip(), (tool, args, res)
        assert "Traceback" not in text, text
        return
    body = res.structured_content
    assert body is not None, (tool, args, res)
    jsonschema.validate(body, client.tools[tool].output_schema)
    if tool == "index_status":
        assert body["state"] in ("fresh", "stale") and body["files"] > 20
        return
    for r in body["results"]:
        path = r["path"]
        assert path and not path.startswith(("/", "..")) and ".." not in path.split("/"), path
        assert "\x00" not in path
        assert r["start_line"] >= 1 and r["end_line"] >= r["start_line"], r
        assert (client.root / path).resolve().is_relative_to(client.root.resolve()) or path == "notes/leak.py"
    k = args.get("k")
    if type(k) is int and tool != "outline":
        assert len(body["results"]) <= k
    budget = args.get("max_tokens")
    if type(budget) is int:
        assert sum(len(r["snippet"]) for r in body["results"]) <= budget * 4 + 400


def must_fail(args: dict[str, Any], tool: str) -> str | None:
    """Why these arguments have to be refused, when that is certain from the schema alone."""
    bounds = {"k": (1, 100), "max_tokens": (200, 50_000), "max_hops": (1, 5)}
    for name, (lo, hi) in bounds.items():
        v = args.get(name)
        if type(v) is int and not lo <= v <= hi and name in client_params(tool):
            return f"{name}={v} out of [{lo}, {hi}]"
    lengths = {"query": 2000, "symbol": 300, "path": 1000, "current_file": 1000}
    for name, most in lengths.items():
        v = args.get(name)
        if isinstance(v, str) and len(v) > most and name in client_params(tool):
            return f"{name} of {len(v)} characters"
    for name in ("query", "symbol", "path"):
        if name in client_params(tool) and args.get(name) == "":
            return f"empty {name}"
    return None


@functools.cache
def client_params(tool: str) -> frozenset[str]:
    return frozenset({
        "search": {"query", "k", "current_file", "recent_files", "rerank", "max_tokens"},
        "semantic_search": {"query", "k", "current_file", "recent_files", "rerank", "max_tokens"},
        "find_definition": {"symbol", "k", "max_tokens"},
        "find_usages": {"symbol", "k", "max_tokens"},
        "multi_hop_search": {"query", "k", "max_hops", "max_tokens"},
        "outline": {"path", "max_tokens"},
        "index_status": set(),
    }[tool])


# ---- strategies --------------------------------------------------------------------------
ESCAPES = ["../../etc/passwd", "/etc/passwd", "notes/../../../../etc/passwd", "passwd_link.py",
           "etc_link/passwd", "notes/leak.py", "loop", "loop/x", "./../repo/../../etc/shadow", "//etc/passwd",
           "file:///etc/passwd", "%2e%2e/%2e%2e/etc/passwd", "..\\..\\etc\\passwd", "~/.ssh/id_rsa", "~root",
           "/proc/self/environ", "/dev/zero", "notes/storage.py\x00.txt", "\x00", "..", ".", "", " ", "\n",
           "notes/storage.py", "web/store.ts", "notes", "NOTES/STORAGE.PY", "notes//storage.py",
           "notes/./storage.py", "notes/../notes/storage.py"]
SYMBOLS = ["NoteStore::save", "NoteStore.save", "slugify", "hash_password", "fetchWithRetry", "leaky_function",
           "notes/storage.py:NoteStore", "Vec::push", "a.b.c.d.e", "__init__", "*", "%", "_", "?", "'",
           "x' OR '1'='1", "\" OR 1=1 --", "path IN ('a')", "name_lower = 'x'"]
QUERIES = ["who calls fetchWithRetry", "markdown table rows", "retry with backoff", "where is slugify defined",
           "render markdown", "hash a password", "NOT AND OR", "\"unterminated", "title:(x OR y)^5~ *?",
           "+-&&||!(){}[]^\"~*?:\\/"]


def _payloads(marker: Path) -> list[str]:
    """Text that would leave ``marker`` behind if any part of the server executed its input."""
    return [f"$(touch {marker})", f"`touch {marker}`", f"; touch {marker}", f"| touch {marker}",
            f"__import__('os').system('touch {marker}')", f"'; import os; os.system(\"touch {marker}\") #",
            f"{{{{ __import__('os').system('touch {marker}') }}}}", f"${{touch {marker}}}",
            f"') ; DROP TABLE symbols; -- touch {marker}"]


def hostile_text(marker: Path) -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(max_size=40),
        st.sampled_from(ESCAPES + SYMBOLS + QUERIES + _payloads(marker)),
        st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=12).flatmap(
            lambda s: st.integers(1, 5000).map(lambda n: (s * n)[:n])),  # up to 5000 characters
        st.integers(1, 1700).map(lambda n: "../" * n),
        st.tuples(st.sampled_from(ESCAPES + SYMBOLS), st.sampled_from(["\x00", "\ufffd", "\u202e", "\ufeff", "\r\n", "\t", "\x1b[2J"]),
                  st.text(max_size=10)).map("".join),
    )


def any_json() -> st.SearchStrategy[Any]:
    scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
                        st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20))
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.text(max_size=6), inner, max_size=3), max_leaves=6)


def ints() -> st.SearchStrategy[int]:
    return st.one_of(st.integers(-5, 120), st.sampled_from([0, 1, 5, 100, 101, 199, 200, 201, 5000, 50_000, 50_001]),
                     st.integers(-(2**64), 2**64))


def value_for(name: str, marker: Path) -> st.SearchStrategy[Any]:
    text = hostile_text(marker)
    typed: dict[str, st.SearchStrategy[Any]] = {
        "query": text, "symbol": text, "path": text, "current_file": st.one_of(st.none(), text),
        "recent_files": st.one_of(st.none(), st.lists(text, max_size=4), st.lists(st.just("notes/storage.py"),
                                                                                    min_size=49, max_size=60)),
        "k": ints(), "max_tokens": ints(), "max_hops": ints(), "rerank": st.booleans(),
    }
    # Mostly the right type, sometimes anything at all.
    return st.one_of(typed[name], typed[name], typed[name], any_json())


SAMPLE_FILES = sorted(p.relative_to(SAMPLE).as_posix() for p in SAMPLE.rglob("*")
                      if p.is_file() and p.suffix in {".py", ".ts", ".js", ".go", ".rs", ".java", ".rb"})


def valid_value(name: str, marker: Path) -> st.SearchStrategy[Any]:
    """Within the schema (type and bounds), hostile in content."""
    text = hostile_text(marker)
    paths = st.one_of(st.sampled_from(SAMPLE_FILES), st.sampled_from(SAMPLE_FILES), text.map(lambda s: s[:1000]))
    return {
        "query": st.one_of(st.sampled_from(QUERIES + SYMBOLS), text.map(lambda s: s[:2000] or "x")),
        "symbol": st.one_of(st.sampled_from(SYMBOLS), text.map(lambda s: s[:300] or "x")),
        "path": paths,
        "current_file": st.one_of(st.none(), paths),
        "recent_files": st.one_of(st.none(), st.lists(st.sampled_from(SAMPLE_FILES), max_size=5),
                                  st.lists(paths, max_size=3)),
        "k": st.integers(1, 100), "max_tokens": st.integers(200, 50_000), "max_hops": st.integers(1, 5),
        "rerank": st.booleans(),
    }[name]


@st.composite
def arguments(draw: st.DrawFn, tool: str, marker: Path) -> dict[str, Any]:
    """A third within the schema, a third with one argument wrong, a third anything goes."""
    mode = draw(st.sampled_from(["valid", "one_bad", "hostile"]))
    names = sorted(client_params(tool))
    args: dict[str, Any] = {}
    for name in names:
        required = name in ("query", "symbol", "path")
        if mode == "hostile":
            if draw(st.integers(0, 9)) < (9 if required else 5):  # sometimes leave out even required ones
                args[name] = draw(value_for(name, marker))
        elif required or draw(st.booleans()):
            args[name] = draw(valid_value(name, marker))
    if mode == "one_bad" and names:
        name = draw(st.sampled_from(names))
        if draw(st.integers(0, 4)) == 0:
            args.pop(name, None)
        else:
            args[name] = draw(value_for(name, marker))
    if draw(st.integers(0, 5)) == 0:  # extra keys the tool does not take
        args.update(draw(st.dictionaries(st.text(min_size=1, max_size=12), any_json(), max_size=3)))
    return args


# ---- the tests -----------------------------------------------------------------------------
TOOLS = ["search", "semantic_search", "find_definition", "find_usages", "multi_hop_search", "outline"]


@pytest.mark.parametrize("tool", TOOLS)
def test_random_arguments(client: Client, tool: str) -> None:
    @FUZZ
    @given(args=arguments(tool, client.marker))
    def run(args: dict[str, Any]) -> None:
        res = client.call(tool, args)
        check(client, tool, args, res)
        reason = must_fail(args, tool)
        if reason is not None:
            assert res.is_error, f"{tool}({args!r}) should be refused: {reason}"

    run()
    assert not client.marker.exists(), "an argument was executed"
    # The examples reached both sides: real answers and refusals.
    print(tool, dict(client.outcomes[tool]))
    assert client.outcomes[tool]["ok"] >= 3 and client.outcomes[tool]["error"] >= 3, client.outcomes[tool]


@FUZZ
@given(args=st.dictionaries(st.text(max_size=8), any_json(), max_size=3))
def test_index_status_ignores_arguments(client: Client, args: dict[str, Any]) -> None:
    check(client, "index_status", args, client.call("index_status", args))


@pytest.mark.parametrize("tool, args, message", [
    ("outline", {"path": "../../etc/passwd"}, "outside the repository"),
    ("outline", {"path": "/etc/passwd"}, "outside the repository"),
    ("outline", {"path": "passwd_link.py"}, "outside the repository"),
    ("outline", {"path": "etc_link/passwd"}, "outside the repository"),
    ("outline", {"path": "notes/leak.py"}, "outside the repository"),
    ("outline", {"path": "notes/../../../../../../etc/passwd"}, "outside the repository"),
    ("outline", {"path": "loop"}, "cannot resolve"),
    ("outline", {"path": "notes/storage.py\x00"}, "cannot resolve"),
    ("outline", {"path": "passwd_link.py/../../etc/passwd"}, ""),
    ("outline", {"path": "no/such/file.py"}, "not in the index"),
    ("search", {"query": "save note", "current_file": "/etc/passwd"}, "outside the repository"),
    ("search", {"query": "save note", "current_file": "../../../etc/passwd"}, "outside the repository"),
    ("search", {"query": "save note", "current_file": "passwd_link.py"}, "outside the repository"),
    ("semantic_search", {"query": "save note", "recent_files": ["notes/storage.py", "../../etc/passwd"]},
     "outside the repository"),
    ("semantic_search", {"query": "save note", "recent_files": ["/etc/shadow"]}, "outside the repository"),
    ("semantic_search", {"query": "save note", "recent_files": ["etc_link/passwd"]}, "outside the repository"),
    ("search", {"query": "save note", "recent_files": ["notes/storage.py"] * 51}, "50"),
    ("find_definition", {"symbol": "x" * 301}, "300"),
    ("semantic_search", {"query": "x" * 2001}, "2000"),
    ("find_usages", {"symbol": "slugify", "k": 0}, "greater than or equal"),
    ("find_usages", {"symbol": "slugify", "k": 101}, "less than or equal"),
    ("find_usages", {"symbol": "slugify", "max_tokens": 199}, "greater than or equal"),
    ("find_usages", {"symbol": "slugify", "max_tokens": 50_001}, "less than or equal"),
    ("multi_hop_search", {"query": "markdown", "max_hops": 6}, "less than or equal"),
    ("find_definition", {"symbol": "   "}, "non-empty"),
    ("find_definition", {"symbol": ["slugify"]}, ""),
    ("find_definition", {"symbol": "slugify", "k": "five"}, ""),
    ("find_definition", {}, ""),
])
def test_confinement_and_bounds_are_errors(client: Client, tool: str, args: dict[str, Any], message: str) -> None:
    res = client.call(tool, args)
    _no_outside_content(res)
    assert res.is_error, (tool, args, res.structured_content)
    text = res.content[0].text
    assert text.strip() and message in text, text


def test_symlink_swapped_in_after_indexing_is_not_read(client: Client) -> None:
    """notes/leak.py was indexed as a file, then replaced by a link to /etc/passwd. Answers that read
    snippets from disk must not follow it out of the repository."""
    for tool, args in (("find_definition", {"symbol": "leaky_function"}),
                       ("find_usages", {"symbol": "leaky_function"}),
                       ("search", {"query": "leaky_function"}),
                       ("semantic_search", {"query": "leaky function first second third"}),
                       ("multi_hop_search", {"query": "leaky function"})):
        res = client.call(tool, args)
        _no_outside_content(res)
        assert not res.is_error, (tool, res.content)
    res = client.call("find_definition", {"symbol": "leaky_function"})
    top = res.structured_content["results"][0]
    assert (top["path"], top["symbol"]) == ("notes/leak.py", "leaky_function")


@pytest.mark.parametrize("extra", [{"ctx": "evil"}, {"ctx": {"session": None}}, {"__class__": 1},
                                   {"self": "x"}, {"kwargs": {"k": 10_000}}])
def test_extra_keys_cannot_reach_internals(client: Client, extra: dict[str, Any]) -> None:
    res = client.call("search", {"query": "save note", **extra})
    check(client, "search", {"query": "save note", **extra}, res)


def test_valid_calls_still_answer_and_server_is_alive(client: Client) -> None:
    res = client.call("find_definition", {"symbol": "NoteStore::save"})
    assert not res.is_error and res.structured_content["results"][0]["path"] == "notes/storage.py"
    res = client.call("outline", {"path": str(client.root / "notes" / "storage.py")})  # absolute, inside
    assert not res.is_error and res.structured_content["results"]
    status = client.call("index_status", {})
    check(client, "index_status", {}, status)
    assert not status.is_error and status.structured_content["files"] > 20
    assert not client.marker.exists()
