"""Parse one file with its tags query into definitions, references, imports and chunks.

Everything language-specific lives in ``queries/<lang>-tags.scm`` and ``languages.toml``; this module
only interprets the standard captures:

  @definition.<kind> + @name (+ optional @container, for receivers such as Go's)
  @reference.<kind>  + @name (a call's receiver is read from the tree around @name: _receiver)
  @import + @import.module (+ optional @import.name)
"""

from __future__ import annotations

import bisect
import hashlib
import inspect
import itertools
import re
from functools import cache
from pathlib import Path

from tree_sitter import Node, Parser, QueryCursor

from .chunking import build_chunks
from .languages import LanguageSpec, grammar
from .model import CONTAINER_KINDS, Definition, Import, ParsedFile, Reference

_BODY_TYPES = ("body", "block", "declaration_list", "field_declaration_list", "compound_statement",
               "class_body", "enum_body", "interface_body", "function_body", "statement_block",
               "enum_variant_list", "protocol_body", "implementation_definition")
_COMMENT_MARKERS = re.compile(r"^\s*(?:///?|//!|/\*+!?|\*+/?|#+|--)\s?")
_WS = re.compile(r"\s+")
_MAX_SIGNATURE = 300
# A function directly inside one of these is a method; inside a namespace or module it stays a function.
_METHOD_PARENTS = CONTAINER_KINDS - {"namespace", "module"}
# Every line is in the chunk of each definition around it: nesting multiplies a file's chunk text.
MAX_DEFINITION_DEPTH = 32


@cache
def parser_tag() -> str:
    """A digest of what turns a file into rows: the language table, every tags query, this module, the
    records' helpers and the chunker. A file indexed under another tag is parsed again (``indexer.pipeline``),
    so an existing index picks up a changed query; its vectors are reused wherever a chunk's text stays the same."""
    here = Path(__file__).parent
    digest = hashlib.blake2b(digest_size=4)
    for path in [here / "languages.toml", here / "parser.py", here / "model.py", here / "chunking.py",
                 *sorted((here / "queries").glob("*.scm"))]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@cache
def _parser(spec: LanguageSpec) -> Parser:
    language, _ = grammar(spec)
    return Parser(language)


def _text(node: Node) -> str:
    return node.text.decode("utf-8", "replace") if node.text is not None else ""


def _end_line(node: Node) -> int:
    row, col = node.end_point
    if col == 0 and row > node.start_point.row:
        return row  # the node ends at the start of the next line
    return row + 1


class _RawDef:
    __slots__ = ("node", "outer", "name", "kind", "container", "parent")

    def __init__(self, node: Node, outer: Node, name: str, kind: str, container: str) -> None:
        self.node, self.outer, self.name, self.kind, self.container = node, outer, name, kind, container
        self.parent: _RawDef | None = None


RECOVER_MAX_BYTES = 200_000  # files with syntax errors up to this size are parsed statement by statement
RECOVER_MAX_PIECES = 100
_PIECE_START = re.compile(rb"[A-Za-z_$@#]")
_LEAD_IN = re.compile(rb"\s*(//|/\*|\*|#|@)")  # comments and decorators that belong to the statement below


def _top_level_pieces(source: bytes) -> list[bytes]:
    """The file once per top-level statement (a line at column 0 after a blank line or a closed one,
    with the comments and decorators right above it), everything else blanked out: offsets, lines
    and columns stay those of the file."""
    lines = source.split(b"\n")
    starts = [0]
    for i in range(1, len(lines)):
        if not _PIECE_START.match(lines[i]) or _LEAD_IN.match(lines[i]):
            continue
        start = i
        while start - 1 > starts[-1] and _LEAD_IN.match(lines[start - 1]):
            start -= 1
        prev = lines[start - 1].rstrip()
        if not prev or prev[:1] in (b"}", b")", b"]") or prev.endswith((b";", b"}")):
            starts.append(start)
    if len(starts) > RECOVER_MAX_PIECES:  # merge neighbours: at most RECOVER_MAX_PIECES parses
        step = -(-len(starts) // RECOVER_MAX_PIECES)
        starts = starts[::step]
    bounds = [*starts, len(lines)]
    blank = [b" " * len(line) for line in lines]
    return [b"\n".join(blank[:lo] + lines[lo:hi] + blank[hi:]) for lo, hi in itertools.pairwise(bounds)]


def parse_source(path: str, source: bytes, spec: LanguageSpec) -> ParsedFile:
    """Parse ``source`` (the bytes of ``path``) as ``spec``'s language."""
    _, query = grammar(spec)
    tree = _parser(spec).parse(source)
    root = tree.root_node
    raw_defs: dict[tuple[int, int], _RawDef] = {}
    raw_refs: list[tuple[Node, str]] = []
    imports: dict[tuple[int, str], Import] = {}

    # Where the grammar's error recovery gives up on the rest of a file (TypeScript interfaces with
    # several call signatures do that), each top-level statement is parsed again on its own.
    roots = [root]
    if root.has_error and len(source) <= RECOVER_MAX_BYTES:
        roots = [_parser(spec).parse(masked).root_node for masked in _top_level_pieces(source)] or roots
    for _, caps in (match for r in roots for match in QueryCursor(query).matches(r)):
        names = caps.get("name", [])
        for key, nodes in caps.items():
            if key.startswith("definition.") and names:
                node = nodes[0]
                span = (node.start_byte, node.end_byte)
                if span not in raw_defs:
                    container = _text(caps["container"][0]) if "container" in caps else ""
                    raw_defs[span] = _RawDef(node, _outer(node, spec), _text(names[0]),
                                             key.split(".", 1)[1], container)
            elif key.startswith("reference.") and names:
                kind = key.split(".", 1)[1]
                raw_refs.extend((n, kind) for n in names)
            elif key == "import" and "import.module" in caps:
                module = _clean_module(_text(caps["import.module"][0]))
                if not module:
                    continue
                # One statement can match once per imported name: merge them.
                imp = imports.setdefault((nodes[0].start_byte, module), Import(
                    path=path, module=module, line=nodes[0].start_point.row + 1))
                imp.names.extend(n for n in map(_text, caps.get("import.name", [])) if n not in imp.names)

    ordered = sorted(raw_defs.values(), key=lambda d: (d.node.start_byte, -d.node.end_byte))
    if _link_parents(ordered) > MAX_DEFINITION_DEPTH:  # hostile or generated: would cost depth x size
        raise ValueError(f"definitions nested more than {MAX_DEFINITION_DEPTH} levels deep")
    definitions = [_definition(path, spec, d) for d in ordered]
    ids = {id(d): definition.id for d, definition in zip(ordered, definitions)}

    starts = [d.node.start_byte for d in ordered]
    references: list[Reference] = []
    seen: set[tuple[int, str]] = set()
    for node, kind in sorted(raw_refs, key=lambda r: r[0].start_byte):
        key = (node.start_byte, kind)
        if key in seen:
            continue
        seen.add(key)
        enclosing = _innermost(ordered, starts, node.start_byte)
        references.append(Reference(
            name=_text(node), kind=kind, path=path, line=node.start_point.row + 1,
            col=node.start_point.column + 1, enclosing_id=ids[id(enclosing)] if enclosing else "",
            receiver=_receiver(node) if kind == "call" else "",
        ))

    lines = source.decode("utf-8", "replace").splitlines()
    parsed = ParsedFile(path=path, language=spec.name, definitions=definitions, references=references,
                        imports=sorted(imports.values(), key=lambda i: i.line), syntax_errors=root.has_error)
    index_of = {id(d): i for i, d in enumerate(ordered)}
    parsed.chunks = build_chunks(parsed, lines, [index_of.get(id(d.parent)) for d in ordered])
    return parsed


# Tokens between a receiver and the member it calls: `a.b()`, `p->f()`, `a?.b()`, Ruby `a&.b`.
_MEMBER_TOKENS = frozenset({".", "->", "?.", "?->", "&.", "optional_chain"})
# Tokens of a scoped path (Rust `Vec::new()`, C++ `std::move()`, PHP `A::make()`): a scope, not a receiver.
_SCOPE_TOKENS = frozenset({"::"})
MAX_RECEIVER = 40


def _receiver(name: Node) -> str:
    """The receiver of the call whose name node is ``name``, by one rule for every grammar: the name's
    previous sibling is a member-access token, and the receiver is the named node before that token
    (or, where the grammar wraps the token and the name in a suffix node of their own, as Kotlin's
    ``navigation_suffix`` and Swift's do, the named node before that suffix). A scoped path's
    scope is kept with its ``::`` (``Vec::``, ``std::``), so that it is never taken for a receiver."""
    token = name.prev_sibling
    if token is None or (token.type not in _MEMBER_TOKENS and token.type not in _SCOPE_TOKENS):
        return ""
    before = token.prev_sibling  # not prev_named_sibling: C#'s `this` is an anonymous node
    if before is None and name.parent is not None:
        before = name.parent.prev_sibling
    if before is None:
        return "" if token.type in _MEMBER_TOKENS else "::"  # `::f()`: the global scope
    text = _WS.sub(" ", _text(before))
    if len(text) > MAX_RECEIVER:
        text = text[:MAX_RECEIVER - 1] + "…"
    return text + "::" if token.type in _SCOPE_TOKENS else text


def _outer(node: Node, spec: LanguageSpec) -> Node:
    """The node that carries a definition's decorators, export keyword or template header."""
    while node.parent is not None and node.parent.type in spec.wrappers:
        node = node.parent
    return node


def _link_parents(ordered: list[_RawDef]) -> int:
    """Link each definition to its enclosing one; returns the deepest nesting."""
    stack: list[_RawDef] = []
    deepest = 0
    for d in ordered:
        while stack and stack[-1].node.end_byte <= d.node.start_byte:
            stack.pop()
        d.parent = stack[-1] if stack else None
        stack.append(d)
        deepest = max(deepest, len(stack))
    return deepest


def _innermost(ordered: list[_RawDef], starts: list[int], pos: int) -> _RawDef | None:
    i = bisect.bisect_right(starts, pos) - 1
    d = ordered[i] if i >= 0 else None
    while d is not None and not (d.node.start_byte <= pos < d.node.end_byte):
        d = d.parent
    return d


def _definition(path: str, spec: LanguageSpec, d: _RawDef) -> Definition:
    chain: list[str] = []
    p = d.parent
    while p is not None:
        chain.append(p.name)
        p = p.parent
    chain.reverse()
    container = d.container or (chain[-1] if chain else "")
    if d.container and not chain:
        chain = [d.container]
    kind = d.kind
    if kind == "function" and (d.container or (d.parent is not None and d.parent.kind in _METHOD_PARENTS)):
        kind = "method"
    qualname = ".".join([*chain, d.name])
    start_line = d.outer.start_point.row + 1
    signature = _signature(d.node)
    is_callable = kind in ("function", "method", "macro")
    return Definition(
        id=f"{path}#{qualname}@{start_line}",
        name=d.name,
        qualname=qualname,
        kind=kind,
        path=path,
        language=spec.name,
        start_line=start_line,
        end_line=_end_line(d.node),
        container=container,
        signature=signature,
        parameters=_parameters(d.node, signature, d.name) if is_callable else "",
        return_type=_return_type(d.node, spec) if is_callable else "",
        doc=_doc(d.node, d.outer, spec),
    )


def _body(node: Node) -> Node | None:
    body = node.child_by_field_name("body")
    if body is not None:
        return body
    for child in node.named_children:
        if child.type in _BODY_TYPES:
            return child
    return None


def _signature(node: Node) -> str:
    body = _body(node)
    source = node.text or b""
    if body is not None and body.start_byte > node.start_byte:
        head = source[: body.start_byte - node.start_byte]
    else:
        head = source.split(b"\n", 1)[0]
    sig = _WS.sub(" ", head.decode("utf-8", "replace")).strip().rstrip("{:").strip()
    return sig[:_MAX_SIGNATURE]


def _parameters(node: Node, signature: str, name: str) -> str:
    params = node.child_by_field_name("parameters")
    if params is not None:
        return _WS.sub(" ", _text(params))[:_MAX_SIGNATURE]
    # Declarator-style grammars (C, C++, Kotlin, Swift) keep the list deeper: take the first
    # balanced parenthesised group after the name in the signature.
    start = signature.find("(", max(signature.find(name), 0))
    if start < 0:
        return ""
    depth = 0
    for i in range(start, len(signature)):
        depth += {"(": 1, ")": -1}.get(signature[i], 0)
        if depth == 0:
            return signature[start: i + 1]
    return signature[start:]


def _return_type(node: Node, spec: LanguageSpec) -> str:
    for field_name in spec.returns:
        child = node.child_by_field_name(field_name)
        if child is not None:
            return _WS.sub(" ", _text(child)).lstrip("-> :").strip()[:_MAX_SIGNATURE]
    return ""


def _doc(node: Node, outer: Node, spec: LanguageSpec) -> str:
    if spec.docstring:
        body = _body(node)
        first = body.named_children[0] if body is not None and body.named_children else None
        if first is not None and first.type == "expression_statement" and first.named_children:
            first = first.named_children[0]  # older grammars wrap the docstring in a statement
        if first is not None and first.type == "string":
            return _clean_docstring(_text(first))
    comments: list[str] = []
    sibling = outer.prev_sibling
    if sibling is None and outer.parent is not None and outer.parent.start_byte == outer.start_byte:
        # Ruby: the comment above the first member of a class sits before its body_statement.
        sibling = outer.parent.prev_sibling
    line = outer.start_point.row
    while sibling is not None:
        if sibling.type in spec.comments and sibling.end_point.row >= line - 1:
            comments.append(_text(sibling))
            line = sibling.start_point.row
        elif "attribute" in sibling.type or "annotation" in sibling.type or "decorator" in sibling.type:
            line = sibling.start_point.row
        elif (tail := _trailing_comment(sibling, spec)) is not None:
            sibling = tail  # checked as a comment on the next turn
            continue
        else:
            break
        sibling = sibling.prev_sibling
    if not comments:
        return ""
    raw = "\n".join(reversed(comments))
    cleaned = [_COMMENT_MARKERS.sub("", ln).rstrip().removesuffix("*/").rstrip() for ln in raw.splitlines()]
    return "\n".join(ln for ln in cleaned if ln.strip()).strip()


def _trailing_comment(node: Node, spec: LanguageSpec) -> Node | None:
    """A comment that the grammar folded into the end of the node before a definition (Kotlin
    attaches the comment after the last import or the package line to that header)."""
    while node.child_count:
        node = node.children[-1]
        if node.type in spec.comments:
            return node
    return None


def _clean_docstring(literal: str) -> str:
    body = literal.lstrip("rRbBuUfF")
    for quote in ('"""', "'''", '"', "'"):
        if body.startswith(quote) and body.endswith(quote) and len(body) >= 2 * len(quote):
            body = body[len(quote): -len(quote)]
            break
    return inspect.cleandoc(body)


def _clean_module(text: str) -> str:
    return text.strip().strip("\"'`<>").strip()


def parse_file(path: str, data: bytes) -> ParsedFile:
    """Parse any text file: by its tags query where its language has one, else by the fallbacks."""
    from .fallback import LEAN_EXTENSIONS, parse_lean, window_chunks
    from .languages import language_for, specs

    spec = language_for(path)
    if spec is not None and spec.name == "c" and re.search(rb"^\s*@(interface|implementation|protocol)\b", data, re.M):
        spec = specs()["objc"]  # Objective-C headers share C's ".h"
    if spec is not None:
        return parse_source(path, data, spec)
    text = data.decode("utf-8", "replace")
    if path.lower().endswith(LEAN_EXTENSIONS):
        return parse_lean(path, text)
    return window_chunks(path, text)
