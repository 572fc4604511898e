"""Compact, line-numbered snippets, and fitting a whole answer into a token budget."""

from __future__ import annotations

from .models import Result

CHARS_PER_TOKEN = 4  # a conservative average for code with BPE tokenizers


def numbered(code: str, first_line: int, max_lines: int, focus: int | None = None) -> str:
    """``code`` (starting at ``first_line``) with line numbers; long code keeps its head, and the lines
    around ``focus`` when that line would otherwise be cut."""
    lines = code.splitlines() or [""]
    width = len(str(first_line + len(lines) - 1))
    picked = list(range(len(lines)))
    if len(lines) > max_lines:
        head = max(1, max_lines // 2) if focus is not None else max_lines
        picked = list(range(head))
        if focus is not None:
            f = focus - first_line
            lo = max(head, f - (max_lines - head) // 2)
            picked += list(range(lo, min(len(lines), lo + max_lines - head)))
    out: list[str] = []
    prev = -1
    for i in picked:
        if prev >= 0 and i != prev + 1:
            out.append(" " * width + " | ...")
        out.append(f"{first_line + i:>{width}} | {lines[i].rstrip()}")
        prev = i
    if picked[-1] < len(lines) - 1:
        out.append(" " * width + f" | ... ({len(lines) - 1 - picked[-1]} more lines)")
    return "\n".join(out)


def fit_budget(results: list[Result], max_tokens: int) -> tuple[list[Result], bool]:
    """Keep results in rank order while they fit ``max_tokens``; shorten snippets before dropping
    results, so an agent gets more places rather than one long body."""
    budget = max_tokens * CHARS_PER_TOKEN
    overhead = 200  # field names, scores and paths of one result, roughly
    if sum(len(r.snippet) + overhead for r in results) <= budget:
        return results, False
    kept: list[Result] = []
    used = 0
    for r in results:
        room = budget - used - overhead
        if room <= 80:
            break
        if len(r.snippet) > room:
            lines = r.snippet.splitlines()
            cut: list[str] = []
            size = 0
            for line in lines:
                if size + len(line) + 1 > room - 40:
                    break
                cut.append(line)
                size += len(line) + 1
            r = r.model_copy(update={"snippet": "\n".join(cut + ["... (cut to fit max_tokens)"])})
        kept.append(r)
        used += len(r.snippet) + overhead
    return kept, True
