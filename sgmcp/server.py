"""The MCP server: thin, typed tools over :class:`SearchService`. Agents read these docstrings."""

from __future__ import annotations

import functools
import gc
import ipaddress
import os
import uuid
from collections.abc import Callable
from typing import Annotated, ParamSpec, TypeVar

from indexer.encoder import EncoderError
from indexer.store import IndexError_

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from .context import AgentContext
from .engine import DEFAULT_MAX_TOKENS, QueryError
from .models import IndexState, SearchResponse
from .service import SearchService

P = ParamSpec("P")
R = TypeVar("R")

INSTRUCTIONS = """\
sgmcp searches this repository's code. Use it before grepping or opening files.
- find_definition(symbol): where a function/class/method is defined (exact, Type::method, pkg.mod.func, fuzzy).
- find_usages(symbol): every call/reference site, as the enclosing function plus the line.
- semantic_search(query): code that does something described in words ("retry with backoff").
- search(query): when unsure; routes to the right one of the above by the query's intent.
- multi_hop_search(query): questions that need following calls/imports across several places.
- outline(path): the definitions of one file. index_status(): is the index fresh.
Pass current_file / recent_files when you work in a file: related code ranks higher.
Results carry path, 1-based start_line/end_line and a numbered snippet; read more of the file only if needed."""

Query = Annotated[str, Field(min_length=1, max_length=2000, description="What to look for")]
Symbol = Annotated[str, Field(min_length=1, max_length=300,
                              description="A name: parse_config, HttpClient.send, Vec::push, pkg.mod.func")]
K = Annotated[int, Field(ge=1, le=100, description="How many results")]
MaxTokens = Annotated[int, Field(ge=200, le=50_000, description="Budget for the whole answer")]
FilePath = Annotated[str | None, Field(default=None, max_length=1000,
                                       description="The file the agent is working in (repository-relative)")]
RecentFiles = Annotated[list[Annotated[str, Field(max_length=1000)]] | None,
                        Field(default=None, max_length=50, description="Files the agent recently read or edited")]
Rerank = Annotated[bool | None, Field(default=None, description="Let an LLM reorder the top candidates (needs "
                                      "ANTHROPIC_API_KEY; falls back with a note); unset: the server's default")]


def _client(ctx: Context | None) -> str:
    """A stable key for the client session (``id()`` of a freed session can be reused)."""
    try:
        session = ctx.session if ctx is not None else None
    except Exception:  # no session (in-process calls)
        return ""
    if session is None:
        return ""
    key = getattr(session, "_sgmcp_client_key", None)
    if key is None:
        key = uuid.uuid4().hex
        try:
            session._sgmcp_client_key = key
        except AttributeError:  # a session object without a __dict__: fall back to its id
            return str(id(session))
    return key


def _user_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """A caller's mistake (bad path, unknown encoder, no index) becomes an error result with the
    reason, which the SDK would otherwise hide behind "Error executing tool"."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except (QueryError, IndexError_, EncoderError) as err:
            raise ToolError(str(err)) from err

    return wrapper


def build_server(service: SearchService) -> MCPServer:
    mcp = MCPServer("sgmcp", instructions=INSTRUCTIONS)
    tool = lambda: lambda fn: mcp.tool()(_user_errors(fn))  # noqa: E731

    def context_of(current_file: str | None, recent_files: list[str] | None) -> AgentContext:
        return AgentContext(
            current_file=service.resolve_path(current_file) if current_file else None,
            recent_files=[service.resolve_path(p) for p in recent_files or []],
        )

    @tool()
    def search(query: Query, k: K = 10, current_file: FilePath = None, recent_files: RecentFiles = None,
               rerank: Rerank = None, max_tokens: MaxTokens = DEFAULT_MAX_TOKENS,
               ctx: Context | None = None) -> SearchResponse:
        """Search the code base with any question; the intent (definition, usages, implementation,
        similar code, change location) is detected and routed to the best strategy."""
        from .router import classify

        decision = classify(query)
        context = context_of(current_file, recent_files)
        fetch = k * 3
        notes = [f"routed as {decision.intent} (confidence {decision.confidence:.2f})"]
        if decision.intent == "find_definition" and decision.symbol:
            def run(engine):
                return engine.find_definition(decision.symbol, fetch) or engine.semantic_search(query, fetch)
            rerank = bool(rerank)  # the server's default is for descriptions, not names
        elif decision.intent == "find_usage" and decision.symbol:
            def run(engine):
                return engine.find_usages(decision.symbol, fetch)
            rerank = bool(rerank)
        else:
            def run(engine):
                return engine.semantic_search(query, fetch)
        return service.answer(query, decision.intent, run, k=k, max_tokens=max_tokens, client=_client(ctx),
                              context=context, notes=notes, rerank=rerank)

    @tool()
    def semantic_search(query: Query, k: K = 10, current_file: FilePath = None,
                        recent_files: RecentFiles = None, rerank: Rerank = None,
                        max_tokens: MaxTokens = DEFAULT_MAX_TOKENS, ctx: Context | None = None) -> SearchResponse:
        """Find code by what it does, described in words ("turn a markdown table into html rows"):
        dense vectors fused with BM25 over split identifiers, symbol names and paths."""
        context = context_of(current_file, recent_files)
        return service.answer(query, "find_implementation", lambda e: e.semantic_search(query, k * 3), k=k,
                              max_tokens=max_tokens, client=_client(ctx), context=context, rerank=rerank)

    @tool()
    def find_definition(symbol: Symbol, k: K = 5, max_tokens: MaxTokens = DEFAULT_MAX_TOKENS) -> SearchResponse:
        """Where a symbol is defined. Exact and case-insensitive names, qualified names in any notation
        (Type::method, Class.method, pkg.mod.func, path/file.py:func), and fuzzy matches as a fallback."""
        return service.answer(symbol, "find_definition", lambda e: e.find_definition(symbol, k), k=k,
                              max_tokens=max_tokens)

    @tool()
    def find_usages(symbol: Symbol, k: K = 50, max_tokens: MaxTokens = DEFAULT_MAX_TOKENS) -> SearchResponse:
        """Every reference/call site of a symbol. Each result is the enclosing definition (symbol,
        container, span) and `line` is the line of the first reference inside it."""
        return service.answer(symbol, "find_usage", lambda e: e.find_usages(symbol, k), k=k,
                              max_tokens=max_tokens)

    @tool()
    def multi_hop_search(query: Query, k: K = 10, max_hops: Annotated[int, Field(ge=1, le=5)] = 3,
                         rerank: Rerank = None, max_tokens: MaxTokens = DEFAULT_MAX_TOKENS) -> SearchResponse:
        """Questions that need several steps: searches, then follows calls from the best hits
        (callees and callers) and ranks everything reached against the question. The notes give a
        confidence line (the estimated probability that the first result is the answer; high: trust it,
        low: read the first two or three), then the trail of hops."""
        from .multihop import multi_hop

        trail: list[str] = []
        response = service.answer(query, "find_implementation", lambda e: multi_hop(e, query, k, max_hops, trail),
                                  k=k, max_tokens=max_tokens, rerank=rerank)
        response.notes.extend(trail)
        return response

    @tool()
    def outline(path: Annotated[str, Field(min_length=1, max_length=1000)],
                max_tokens: MaxTokens = DEFAULT_MAX_TOKENS) -> SearchResponse:
        """The definitions of one file (repository-relative path), in source order."""
        return service.answer(path, "outline", lambda e: e.outline(path), k=1000, max_tokens=max_tokens)

    @tool()
    def index_status() -> IndexState:
        """Whether the index is fresh, building or stale, how many files/chunks/symbols it holds."""
        return service.state()

    return mcp


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(root: str, *, index_dir: str | None = None, model: str | None = None, transport: str = "stdio",
          host: str = "127.0.0.1", port: int = 8765, watch: bool = True) -> None:
    token = os.environ.get("SGMCP_TOKEN", "")
    if transport == "http" and not is_loopback(host) and not token:
        raise SystemExit(f"sgmcp: refusing to serve on {host} without SGMCP_TOKEN (a bearer token); "
                         "set it or bind to 127.0.0.1")
    service = SearchService(root, index_dir, model=model, watch=watch)
    mcp = build_server(service)
    gc.freeze()  # what start-up built lives as long as the server: keep it out of the collector's passes
    gc.enable()
    try:
        if transport == "stdio":
            mcp.run("stdio")
            return
        import uvicorn

        app = mcp.streamable_http_app(host=host)
        if token:
            app = BearerTokenMiddleware(app, token)
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        service.close()


class BearerTokenMiddleware:
    """Refuse every HTTP request that lacks ``Authorization: Bearer <SGMCP_TOKEN>``."""

    def __init__(self, app, token: str) -> None:
        self.app, self.expected = app, f"Bearer {token}".encode()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            import hmac

            given = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not hmac.compare_digest(given, self.expected):
                await send({"type": "http.response.start", "status": 401,
                            "headers": [(b"content-type", b"text/plain"), (b"www-authenticate", b"Bearer")]})
                await send({"type": "http.response.body", "body": b"missing or wrong bearer token\n"})
                return
        await self.app(scope, receive, send)
