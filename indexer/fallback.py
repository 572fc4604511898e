"""Files without a tree-sitter grammar: Lean 4 declarations by pattern, every other text file by windows."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from .model import Chunk, Definition, ParsedFile

WINDOW_LINES = 50
LEAN_EXTENSIONS = (".lean",)

_LEAN_DECL = re.compile(
    r"^(?:@\[[^\]]*\]\s*)?(?:(?:private|protected|noncomputable|partial|unsafe|nonrec|scoped|local)\s+)*"
    r"(def|theorem|lemma|structure|inductive|instance|class|abbrev|axiom|opaque|example)\b\s*([^\s:({\[]*)"
)
_LEAN_SCOPE = re.compile(r"^(namespace|section)\s+(\S+)|^end\b\s*(\S*)")
_LEAN_KINDS = {"def": "function", "abbrev": "function", "opaque": "function", "theorem": "theorem",
               "lemma": "theorem", "axiom": "theorem", "example": "theorem", "structure": "struct",
               "inductive": "enum", "class": "class", "instance": "impl"}


def parse_lean(path: str, text: str) -> ParsedFile:
    """Declaration-level Lean 4: each def/theorem/structure/... runs until the next declaration,
    scope change or blank-line gap; ``/-- ... -/`` right above it is its doc."""
    lines = text.splitlines()
    parsed = ParsedFile(path=path, language="lean")
    scopes: list[str] = []
    starts: list[tuple[int, str, str, str]] = []  # (line, keyword, name, container)
    for n, line in enumerate(lines, 1):
        stripped = line.strip()
        scope = _LEAN_SCOPE.match(stripped)
        if scope and scope.group(1) == "namespace":
            scopes.append(scope.group(2))
            starts.append((n, "", "", ""))
        elif scope and scope.group(1) is None and scopes and (not scope.group(3) or scope.group(3) == scopes[-1]):
            scopes.pop()
            starts.append((n, "", "", ""))
        elif (decl := _LEAN_DECL.match(line)) is not None:
            name = decl.group(2) or f"{decl.group(1)}@{n}"
            starts.append((n, decl.group(1), name, ".".join(scopes)))
    for i, (start, keyword, name, container) in enumerate(starts):
        if not keyword:
            continue
        end = (starts[i + 1][0] - 1) if i + 1 < len(starts) else len(lines)
        while end > start and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("/--")):
            end -= 1
        doc_start, doc = _lean_doc(lines, start)
        qualname = f"{container}.{name}" if container else name
        definition = Definition(
            id=f"{path}#{qualname}@{start}", name=name.rsplit(".", 1)[-1], qualname=qualname,
            kind=_LEAN_KINDS[keyword], path=path, language="lean", start_line=start, end_line=end,
            container=container, signature=lines[start - 1].strip()[:300], doc=doc,
        )
        parsed.definitions.append(definition)
        parsed.chunks.append(Chunk(
            id=f"{path}#{doc_start}-{end}#{qualname}", path=path, language="lean", kind=definition.kind,
            name=definition.name, qualname=qualname, container=container, start_line=start, end_line=end,
            code="\n".join(lines[start - 1: end]), signature=definition.signature, doc=doc,
            definition_id=definition.id,
        ))
    return parsed


def _lean_doc(lines: list[str], start: int) -> tuple[int, str]:
    n = start - 1
    if n < 1 or not lines[n - 1].rstrip().endswith("-/"):
        return start, ""
    end = n
    while n >= 1 and "/--" not in lines[n - 1]:
        n -= 1
    if n < 1:
        return start, ""
    doc = "\n".join(lines[n - 1: end]).replace("/--", "").replace("-/", "").strip()
    return n, doc


def window_chunks(path: str, text: str) -> ParsedFile:
    """Any other text file: Markdown by section, everything else by fixed line windows."""
    lines = text.splitlines()
    parsed = ParsedFile(path=path, language=_plain_language(path))
    name = PurePosixPath(path).name
    if path.lower().endswith((".md", ".markdown", ".rst")):
        bounds = [n for n, line in enumerate(lines, 1) if line.startswith("#")] or [1]
        if bounds[0] != 1:
            bounds.insert(0, 1)
        spans = [(s, (bounds[i + 1] - 1) if i + 1 < len(bounds) else len(lines)) for i, s in enumerate(bounds)]
        spans = [(s, e) for a, b in spans for s, e in _split(a, b)]
    else:
        spans = list(_split(1, len(lines)))
    for start, end in spans:
        code = "\n".join(lines[start - 1: end])
        if not code.strip():
            continue
        heading = lines[start - 1].lstrip("#").strip() if lines[start - 1].startswith("#") else name
        parsed.chunks.append(Chunk(
            id=f"{path}#{start}-{end}#<window>", path=path, language=parsed.language, kind="window",
            name=heading[:120], qualname=name, container="", start_line=start, end_line=end, code=code,
        ))
    return parsed


def _split(start: int, end: int):
    for s in range(start, end + 1, WINDOW_LINES):
        yield s, min(end, s + WINDOW_LINES - 1)


def _plain_language(path: str) -> str:
    suffix = PurePosixPath(path).suffix.lower().lstrip(".")
    return suffix or "text"
