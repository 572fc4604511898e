"""The result shapes shared by the MCP tools, the CLI's ``--json`` and the evals."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Intent = Literal["find_definition", "find_usage", "find_implementation", "find_similar", "find_change",
                 "outline", "status"]


class Result(BaseModel):
    path: str = Field(description="File path relative to the repository root, forward slashes")
    start_line: int = Field(description="First line of the result (1-based)")
    end_line: int = Field(description="Last line of the result (inclusive)")
    symbol: str = Field(description="Qualified name of the definition (or module/file for other code)")
    container: str = Field(default="", description="Enclosing class/impl/module, if any")
    kind: str = Field(description="function, method, class, struct, module, window, ...")
    language: str
    score: float = Field(description="Relevance; higher is better; comparable within one answer only")
    snippet: str = Field(description="Code with line numbers, shortened to fit the answer's budget")
    line: int | None = Field(default=None, description="For usages: the line of the reference itself")
    signature: str = ""


class IndexState(BaseModel):
    state: Literal["fresh", "building", "stale", "missing"] = "fresh"
    files: int = 0
    chunks: int = 0
    symbols: int = 0
    indexed_at: float | None = Field(default=None, description="Unix time of the last committed batch")
    lag_seconds: float = Field(default=0.0, description="How far behind the working tree the index may be")
    pending: int = Field(default=0, description="Changed files not yet applied")
    encoder: str = ""
    note: str = ""


class SearchResponse(BaseModel):
    query: str
    intent: Intent
    results: list[Result]
    took_ms: float
    index: IndexState
    truncated: bool = Field(default=False, description="Results were cut to fit max_tokens")
    notes: list[str] = Field(default_factory=list)
