"""Replay recorded agent sessions against ``sgmcp serve --repo PATH`` and score the answers.

    sgmcp eval replay evals/transcripts/gorilla-mux-session.jsonl --repo evals/data/corpora/gorilla-mux-1.8.0
    sgmcp eval replay ~/.claude/projects/<project>/<session>.jsonl --repo /path/to/checkout --json out.json

Two transcript formats, told apart line by line:

* **sgmcp transcripts** (JSONL), one tool call a line with the locations the agent finally used::

      {"id"?: "...", "tool": "find_definition", "arguments": {"symbol": "Router.ServeHTTP"},
       "relevant": [{"path": "mux.go", "line"?: 173, "symbol"?: "Router.ServeHTTP"}]}

  A relevant entry with a symbol or line is scored with the suite's hit rule (same path, and the same
  symbol or a result starting at most 5 lines before the line and spanning it); a bare path is a file.

* **Claude Code session files** (``~/.claude/projects/*/*.jsonl``): every ``tool_use`` block of our tools
  (``mcp__<server>__search``, ``…__find_definition``, …) is replayed with its input, and the files the agent
  afterwards read or edited (``Read``, ``Edit``, ``MultiEdit``, ``Write``, ``NotebookEdit``), up to its next
  call of our tools, are taken as relevant, at file level. Absolute paths are made relative to the
  session's ``cwd`` (else to ``--repo``); files outside the repository are ignored. Calls after which
  the agent opened nothing are left out (unjudged) and counted in the report.

Metrics are the suite's (``evals.suite``): intent by tool (find_definition -> definition, find_usages ->
usages, semantic_search -> semantic, multi_hop_search -> multi_hop, search -> context when it carries
context arguments, else search).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .suite import CONTEXT_TOOLS, Query, build_report, run_queries

TOOLS = {"search", "semantic_search", "find_definition", "find_usages", "multi_hop_search"}
INTENT_OF = {"find_definition": "definition", "find_usages": "usages", "semantic_search": "semantic",
             "multi_hop_search": "multi_hop", "search": "search"}
READ_TOOLS = {"Read": "file_path", "Edit": "file_path", "MultiEdit": "file_path", "Write": "file_path",
              "NotebookEdit": "notebook_path", "NotebookRead": "notebook_path"}


def intent_for(tool: str, args: dict[str, Any]) -> str:
    if tool in CONTEXT_TOOLS and (args.get("current_file") or args.get("recent_files")):
        return "context" if tool == "search" else INTENT_OF[tool]
    return INTENT_OF[tool]


def our_tool(name: str, server: str | None = None) -> str | None:
    """``mcp__sgmcp__find_definition`` -> ``find_definition`` (any server name unless ``server`` is given)."""
    if not name.startswith("mcp__"):
        return None
    srv, _, tool = name[len("mcp__"):].rpartition("__")
    if tool not in TOOLS or (server and srv != server):
        return None
    return tool


def relative_to(path: str, roots: Sequence[str]) -> str | None:
    """A repository-relative path, or None when ``path`` lies outside every root."""
    p = path.replace("\\", "/")
    if not p.startswith("/"):
        while p.startswith("./"):
            p = p[2:]
        return p if p and not p.startswith("../") else None
    for root in roots:
        if not root:
            continue
        r = root.replace("\\", "/").rstrip("/")
        if p == r:
            return None
        if p.startswith(r + "/"):
            return p[len(r) + 1:]
    return None


def _lines(path: str | Path) -> Iterable[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("//"):
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}:{n}: not JSON: {err}") from err
            if isinstance(obj, dict):
                yield obj


def detect_format(path: str | Path) -> str:
    for obj in _lines(path):
        if "tool" in obj and "arguments" in obj:
            return "sgmcp"
        if obj.get("type") in ("user", "assistant") and "message" in obj:
            return "claude-code"
    raise ValueError(f"{path}: neither an sgmcp transcript nor a Claude Code session")


def parse_sgmcp(path: str | Path) -> list[dict[str, Any]]:
    """Calls of our transcript format: {id, tool, arguments, relevant}."""
    calls = []
    stem = Path(path).stem
    for i, obj in enumerate(_lines(path), 1):
        if "tool" not in obj:
            continue
        tool = obj["tool"]
        if tool not in TOOLS:
            continue
        relevant = [{k: v for k, v in r.items() if k in ("path", "line", "symbol", "container")}
                    for r in obj.get("relevant") or [] if r.get("path")]
        calls.append({"id": obj.get("id") or f"{stem}#{i}", "tool": tool, "arguments": dict(obj.get("arguments") or {}),
                      "relevant": relevant})
    return calls


def parse_claude_code(path: str | Path, *, repo: str | Path | None = None, server: str | None = None,
                      window: str = "next-call") -> list[dict[str, Any]]:
    """Calls of our tools in a Claude Code session, each with the files read or edited after it.
    ``window``: ``next-call`` (up to the next call of our tools) or ``session`` (to the end)."""
    events: list[tuple[str, Any]] = []  # ("call", (id, tool, args, cwd)) | ("file", rel)
    roots_extra = [str(Path(repo).resolve())] if repo else []
    stem = Path(path).stem
    for obj in _lines(path):
        if obj.get("type") != "assistant":
            continue
        msg = obj.get("message") or {}
        content = msg.get("content")
        if not isinstance(content, list):
            continue
        cwd = obj.get("cwd") or ""
        for block in content:
            if not isinstance(block, dict) or block.get("type") != "tool_use":
                continue
            name, args = block.get("name") or "", block.get("input") or {}
            tool = our_tool(name, server)
            if tool:
                events.append(("call", (block.get("id") or f"{stem}#{len(events)}", tool, dict(args))))
            elif name in READ_TOOLS and isinstance(args.get(READ_TOOLS[name]), str):
                rel = relative_to(args[READ_TOOLS[name]], [cwd, *roots_extra])
                if rel:
                    events.append(("file", rel))
    calls = []
    for i, (kind, payload) in enumerate(events):
        if kind != "call":
            continue
        files: list[str] = []
        for kind2, p2 in events[i + 1:]:
            if kind2 == "call" and window == "next-call":
                break
            if kind2 == "file" and p2 not in files:
                files.append(p2)
        cid, tool, args = payload
        calls.append({"id": f"{stem}:{cid}", "tool": tool, "arguments": args,
                      "relevant": [{"path": f} for f in files]})
    return calls


def load_transcript(path: str | Path, **kw) -> tuple[str, list[dict[str, Any]]]:
    fmt = detect_format(path)
    return fmt, (parse_sgmcp(path) if fmt == "sgmcp" else parse_claude_code(path, **kw))


def to_queries(calls: Sequence[dict[str, Any]], corpus: str = "") -> list[Query]:
    out = []
    for c in calls:
        if not c["relevant"]:
            continue
        args = dict(c["arguments"])
        file_level = all("line" not in r and "symbol" not in r for r in c["relevant"])
        out.append(Query(id=c["id"], intent=intent_for(c["tool"], args), tool=c["tool"], arguments=args,
                         gold=list(c["relevant"]), query=str(args.get("query") or args.get("symbol") or ""),
                         context={k: args[k] for k in ("current_file", "recent_files") if k in args} or None,
                         corpus=corpus, file_level=file_level))
    return out


def run_replay(paths: Sequence[str | Path], repo: str | Path, *, index_dir: str | None = None,
               model: str | None = None, vectors: bool = True, index: bool = True, server: str | None = None,
               window: str = "next-call", timeout: float = 120.0, quiet: bool = False) -> dict[str, Any]:
    from .common import machine
    from .suite import ensure_index

    log = (lambda *a: None) if quiet else (lambda *a: print(*a, file=sys.stderr, flush=True))
    queries: list[Query] = []
    sessions: dict[str, Any] = {}
    for p in paths:
        fmt, calls = load_transcript(p, repo=repo, server=server, window=window)
        qs = to_queries(calls, corpus=Path(p).stem)
        sessions[Path(p).stem] = {"transcript": str(p), "format": fmt, "calls": len(calls), "judged": len(qs),
                                  "unjudged": len(calls) - len(qs)}
        queries.extend(qs)
    meta: dict[str, Any] = {"kind": "replay", "transcripts": [str(p) for p in paths], "repo": str(repo),
                            "sessions": sessions, "model": model or os.environ.get("SGMCP_MODEL") or "default",
                            "vectors": vectors, "started": time.strftime("%Y-%m-%dT%H:%M:%S"), "machine": machine()}
    if index:
        meta["indexing"] = ensure_index(repo, index_dir=index_dir, model=model, vectors=vectors, log=log)

    records, facts = run_queries(queries, repo, index_dir=index_dir, model=model, timeout=timeout,
                                 warmup=vectors, log=log, label="replay")
    meta["server"] = facts
    return build_report(records, meta)
