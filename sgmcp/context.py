"""Agent context: the file the agent works in, the files it touched, and what it was already shown.

Code near the current file (the same file, files it imports, files that import it, callers and
callees of its definitions) moves up; results the same client has already seen move down."""

from __future__ import annotations

from dataclasses import dataclass, field

from indexer.graph import Graph

from .models import Result

BOOST_SAME_FILE = 1.35
BOOST_NEIGHBOUR = 1.2
BOOST_RECENT = 1.1
DEMOTE_SEEN = 0.8


@dataclass(slots=True)
class AgentContext:
    current_file: str | None = None
    recent_files: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.current_file and not self.recent_files


def neighbours(graph: Graph, path: str) -> set[str]:
    """Files one import or call edge away from ``path``."""
    near = {e.resolved for e in graph.imported_by(path) if e.resolved}
    near.update(e.path for e in graph.importers(path))
    for sym in graph.in_file(path):
        for ref in graph.callees(sym.id):
            near.update(s.path for s in graph.by_name(ref.name))
        near.update(ref.path for ref, _ in graph.callers(sym.name))
    near.discard(path)
    return near


def apply_context(results: list[Result], ctx: AgentContext, graph: Graph,
                  seen: set[tuple[str, int]]) -> list[Result]:
    if ctx.empty and not seen:
        return results
    near = neighbours(graph, ctx.current_file) if ctx.current_file else set()
    recent = set(ctx.recent_files)
    rescored = []
    for r in results:
        factor = 1.0
        if ctx.current_file and r.path == ctx.current_file:
            factor *= BOOST_SAME_FILE
        elif r.path in near:
            factor *= BOOST_NEIGHBOUR
        if r.path in recent:
            factor *= BOOST_RECENT
        if (r.path, r.start_line) in seen:
            factor *= DEMOTE_SEEN
        rescored.append(r.model_copy(update={"score": round(r.score * factor, 4)}))
    return sorted(rescored, key=lambda r: -r.score)
