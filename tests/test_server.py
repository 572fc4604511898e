"""The MCP server as agents meet it: a subprocess, the official client, stdio and HTTP."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from indexer.pipeline import index_repository

pytestmark = pytest.mark.anyio
SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "sample_repo"
TOOLS = {"search", "semantic_search", "find_definition", "find_usages", "multi_hop_search", "outline", "index_status"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def indexed_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A structural index (no vectors): the server answers lexically, without loading a model."""
    root = tmp_path_factory.mktemp("srv") / "repo"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns(".sgmcp"))
    index_repository(root)
    return root


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "LANCEDB_LOG": "error", "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", **extra}


def _params(root: Path, *extra: str) -> StdioServerParameters:
    # --no-watch keeps the test's structural index as it is (no background re-index with a model).
    return StdioServerParameters(command=sys.executable, args=["-m", "sgmcp", "serve", "--repo", str(root),
                                                               "--no-watch", *extra], env=_env())


async def test_stdio_tools_answer(indexed_repo: Path) -> None:
    async with stdio_client(_params(indexed_repo)) as (read, write):
        async with ClientSession(read, write) as s:
            await s.initialize()
            tools = {t.name: t for t in (await s.list_tools()).tools}
            assert TOOLS <= set(tools)
            assert tools["search"].output_schema is not None

            res = await s.call_tool("find_definition", {"symbol": "NoteStore::save"})
            assert not res.is_error
            top = res.structured_content["results"][0]
            assert (top["path"], top["symbol"], top["kind"]) == ("notes/storage.py", "NoteStore.save", "method")
            assert res.structured_content["index"]["state"] in ("fresh", "stale")

            res = await s.call_tool("find_usages", {"symbol": "hash_password"})
            found = {(r["path"], r["symbol"]) for r in res.structured_content["results"]}
            assert ("notes/auth.py", "register_user") in found and ("notes/auth.py", "authenticate_user") in found
            assert all(r["line"] for r in res.structured_content["results"])

            res = await s.call_tool("search", {"query": "who calls fetchWithRetry"})
            assert res.structured_content["intent"] == "find_usage"
            assert {"NotesClient.listNotes", "NotesClient.saveNote"} <= {
                r["symbol"] for r in res.structured_content["results"]}

            res = await s.call_tool("outline", {"path": "web/store.ts"})
            assert "NoteListStore" in {r["symbol"] for r in res.structured_content["results"]}

            res = await s.call_tool("multi_hop_search", {"query": "markdown table rows", "max_hops": 2})
            assert not res.is_error and res.structured_content["results"]
            assert res.structured_content["notes"][0].startswith("confidence: ")  # how far to trust the first

            status = await s.call_tool("index_status", {})
            assert status.structured_content["files"] > 20


async def test_bad_arguments_are_clear_errors(indexed_repo: Path) -> None:
    async with stdio_client(_params(indexed_repo)) as (read, write):
        async with ClientSession(read, write) as s:
            await s.initialize()
            for tool, args, message in (
                ("outline", {"path": "../../etc/passwd"}, "outside the repository"),
                ("outline", {"path": "/etc/passwd"}, "outside the repository"),
                ("find_definition", {"symbol": "x", "k": 10_000}, "less than or equal"),
                ("semantic_search", {"query": ""}, "at least 1"),
                ("search", {"query": "x", "current_file": "../../../secret"}, "outside the repository"),
            ):
                res = await s.call_tool(tool, args)
                assert res.is_error, (tool, args)
                assert message in res.content[0].text, res.content[0].text


async def test_max_tokens_bounds_the_answer(indexed_repo: Path) -> None:
    async with stdio_client(_params(indexed_repo)) as (read, write):
        async with ClientSession(read, write) as s:
            await s.initialize()
            res = await s.call_tool("find_usages", {"symbol": "slugify", "max_tokens": 200})
            body = res.structured_content
            assert sum(len(r["snippet"]) for r in body["results"]) <= 200 * 4
            assert body["truncated"] is True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_http(root: Path, port: int, **env: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "sgmcp", "serve", "--repo", str(root), "--no-watch",
                             "--transport", "http", "--port", str(port)], env=_env(**env),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 30
    while time.time() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("server did not start: " + proc.stderr.read().decode())


async def test_http_with_and_without_token(indexed_repo: Path) -> None:
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    port = _free_port()
    proc = _start_http(indexed_repo, port, SGMCP_TOKEN="s3cret")
    try:
        url = f"http://127.0.0.1:{port}/mcp"
        async with httpx2.AsyncClient() as plain:
            refused = await plain.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
            assert refused.status_code == 401
        async with httpx2.AsyncClient(headers={"Authorization": "Bearer s3cret"}) as authed:
            async with streamable_http_client(url, http_client=authed) as (read, write, *_):
                async with ClientSession(read, write) as s:
                    await s.initialize()
                    res = await s.call_tool("find_definition", {"symbol": "slugify"})
                    assert res.structured_content["results"][0]["path"] == "notes/markdown.py"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_non_loopback_http_needs_a_token(indexed_repo: Path) -> None:
    env = _env()
    env.pop("SGMCP_TOKEN", None)
    proc = subprocess.run([sys.executable, "-m", "sgmcp", "serve", "--repo", str(indexed_repo), "--transport",
                           "http", "--host", "0.0.0.0"], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "SGMCP_TOKEN" in proc.stderr
