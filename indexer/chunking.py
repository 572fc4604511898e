"""Turn a parsed file into search chunks: one per definition, plus module-level code."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from .model import CONTAINER_KINDS, Chunk, Definition, ParsedFile, imported_as

MODULE_WINDOW = 60  # lines per module-level chunk
_WORDS = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def build_chunks(parsed: ParsedFile, lines: list[str], parents: list[int | None]) -> list[Chunk]:
    """``parents[i]`` is the index of ``parsed.definitions[i]``'s enclosing definition (or None)."""
    defs = parsed.definitions
    children: dict[int, list[int]] = {}
    for i, p in enumerate(parents):
        if p is not None:
            children.setdefault(p, []).append(i)
    calls: dict[str, list[str]] = {}
    module_refs: list[tuple[int, str]] = []
    for ref in parsed.references:
        if ref.kind != "call":
            continue
        if ref.enclosing_id:
            calls.setdefault(ref.enclosing_id, []).append(ref.name)
        else:
            module_refs.append((ref.line, ref.name))
    import_names = _import_names(parsed)

    chunks: list[Chunk] = []
    for i, d in enumerate(defs):
        code = _definition_code(d, lines, [defs[c] for c in children.get(i, [])])
        chunks.append(Chunk(
            id=f"{d.path}#{d.start_line}-{d.end_line}#{d.qualname}",
            path=d.path, language=d.language, kind=d.kind, name=d.name, qualname=d.qualname,
            container=d.container, start_line=d.start_line, end_line=d.end_line, code=code,
            signature=d.signature, parameters=d.parameters, return_type=d.return_type, doc=d.doc,
            calls=_unique(calls.get(d.id, [])), imports=_used_imports(code, import_names),
            definition_id=d.id,
        ))
    top_level = [d for d, p in zip(defs, parents) if p is None]
    chunks.extend(_module_chunks(parsed, lines, top_level, module_refs, import_names))
    return chunks


def _definition_code(d: Definition, lines: list[str], nested: list[Definition]) -> str:
    """The definition's lines; a container shows its members' first lines only, since each
    member is a chunk of its own."""
    body = range(d.start_line, d.end_line + 1)
    if d.kind not in CONTAINER_KINDS or not nested:
        return "\n".join(lines[n - 1] for n in body if n <= len(lines))
    hidden: set[int] = set()
    for child in nested:
        hidden.update(range(child.start_line + 1, child.end_line + 1))
    out: list[str] = []
    for n in body:
        if n > len(lines):
            break
        if n in hidden:
            if n - 1 not in hidden:
                out.append(_indent_of(lines[n - 1]) + "...")
            continue
        out.append(lines[n - 1])
    return "\n".join(out)


def _indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _module_chunks(parsed: ParsedFile, lines: list[str], top_level: list[Definition],
                   module_refs: list[tuple[int, str]], import_names: dict[str, str]) -> list[Chunk]:
    covered = [False] * (len(lines) + 2)
    for d in top_level:
        for n in range(d.start_line, min(d.end_line, len(lines)) + 1):
            covered[n] = True
    runs: list[tuple[int, int]] = []
    start = None
    for n in range(1, len(lines) + 2):
        free = n <= len(lines) and not covered[n]
        if free and start is None:
            start = n
        elif not free and start is not None:
            runs.append((start, n - 1))
            start = None
    stem = PurePosixPath(parsed.path).stem
    chunks: list[Chunk] = []
    for run_start, run_end in runs:
        for w_start in range(run_start, run_end + 1, MODULE_WINDOW):
            w_end = min(run_end, w_start + MODULE_WINDOW - 1)
            # Trim blank edges so spans point at code.
            while w_start <= w_end and not lines[w_start - 1].strip():
                w_start += 1
            while w_end >= w_start and not lines[w_end - 1].strip():
                w_end -= 1
            if w_start > w_end:
                continue
            code = "\n".join(lines[w_start - 1: w_end])
            chunks.append(Chunk(
                id=f"{parsed.path}#{w_start}-{w_end}#<module>",
                path=parsed.path, language=parsed.language, kind="module", name=stem, qualname=stem,
                container="", start_line=w_start, end_line=w_end, code=code,
                calls=_unique(name for line, name in module_refs if w_start <= line <= w_end),
                imports=_unique(i.module for i in parsed.imports if w_start <= i.line <= w_end)
                or _used_imports(code, import_names),
            ))
    return chunks


def _import_names(parsed: ParsedFile) -> dict[str, str]:
    """Local name -> imported module, for the names a file imports."""
    names: dict[str, str] = {}
    for imp in parsed.imports:
        for name in imp.names:
            names[imported_as(name)[1]] = imp.module
        last = re.split(r"[./:\\]+", imp.module.rstrip("/*;{} "))[-1]
        if last:
            names.setdefault(last, imp.module)
    return names


def _used_imports(code: str, import_names: dict[str, str]) -> list[str]:
    if not import_names:
        return []
    return _unique(import_names[w] for w in _WORDS.findall(code) if w in import_names)


def _unique(items) -> list[str]:
    return list(dict.fromkeys(items))
