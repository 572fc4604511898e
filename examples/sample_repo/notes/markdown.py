"""A deliberately small Markdown-to-HTML converter.

Only the subset the notes app needs is supported: ATX headings, pipe tables,
paragraphs and inline emphasis (bold, italic and code spans).
"""

from __future__ import annotations

import html
import re
import unicodedata

_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ITALIC = re.compile(r"(?<!\*)\*(?!\*)(.+?)(?<!\*)\*(?!\*)")
_CODE = re.compile(r"`([^`]+)`")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_SEPARATOR_CELL = re.compile(r"^:?-{3,}:?$")


def slugify(text: str, max_length: int = 64) -> str:
    """Turn arbitrary text into a lowercase, URL-safe identifier.

    Accents are stripped to their ASCII base letter, every run of characters that is
    not a letter or digit becomes a single hyphen, and the result is trimmed of
    leading/trailing hyphens and cut to ``max_length`` characters.
    """
    normalized = unicodedata.normalize("NFKD", text)
    ascii_only = normalized.encode("ascii", "ignore").decode("ascii")
    hyphenated = re.sub(r"[^a-z0-9]+", "-", ascii_only.lower())
    return hyphenated.strip("-")[:max_length].rstrip("-") or "untitled"


def render_inline(text: str) -> str:
    """Escape HTML special characters, then apply emphasis markup.

    ``**strong**`` becomes <strong>, ``*soft*`` becomes <em> and backtick spans become
    <code>. Text inside code spans is not touched by the other two rules.
    """
    escaped = html.escape(text, quote=False)
    pieces = _CODE.split(escaped)
    out = []
    for index, piece in enumerate(pieces):
        if index % 2 == 1:
            out.append(f"<code>{piece}</code>")
            continue
        piece = _BOLD.sub(r"<strong>\1</strong>", piece)
        piece = _ITALIC.sub(r"<em>\1</em>", piece)
        out.append(piece)
    return "".join(out)


def _split_row(line: str) -> list[str]:
    """Break one pipe-delimited line into its trimmed cell texts."""
    stripped = line.strip()
    if stripped.startswith("|"):
        stripped = stripped[1:]
    if stripped.endswith("|"):
        stripped = stripped[:-1]
    return [cell.strip() for cell in stripped.split("|")]


def _is_separator_row(line: str) -> bool:
    """True for the dashes line (``|---|:--:|``) that sits under a table header."""
    cells = _split_row(line)
    return bool(cells) and all(_SEPARATOR_CELL.match(cell) for cell in cells)


def table_to_html_rows(lines: list[str]) -> list[str]:
    """Convert the lines of a pipe table into a list of HTML ``<tr>`` strings.

    If the second line is a dash separator, the first line is treated as the header
    and its cells are emitted as <th>; every other row uses <td>. Rows shorter than
    the header are padded with empty cells so the columns stay aligned.
    """
    if not lines:
        return []
    has_header = len(lines) > 1 and _is_separator_row(lines[1])
    width = len(_split_row(lines[0]))
    rows: list[str] = []
    for position, line in enumerate(lines):
        if has_header and position == 1:
            continue
        cells = _split_row(line)
        cells += [""] * (width - len(cells))
        tag = "th" if has_header and position == 0 else "td"
        inner = "".join(f"<{tag}>{render_inline(cell)}</{tag}>" for cell in cells)
        rows.append(f"<tr>{inner}</tr>")
    return rows


def render_heading(line: str) -> str | None:
    """Render an ATX heading line (``## Title``) with an anchor id, or None if it is not one."""
    match = _HEADING.match(line)
    if match is None:
        return None
    level = len(match.group(1))
    title = match.group(2)
    return f'<h{level} id="{slugify(title)}">{render_inline(title)}</h{level}>'


def extract_title(text: str) -> str:
    """Find the text of the first heading in a document; fall back to its first line."""
    for line in text.splitlines():
        match = _HEADING.match(line)
        if match:
            return match.group(2)
    first = text.strip().splitlines()
    return first[0] if first else "Untitled"


def render_markdown(text: str) -> str:
    """Produce an HTML fragment for a whole Markdown document.

    Consecutive lines that start with ``|`` are grouped into a single <table>; blank
    lines end paragraphs; headings stand alone.
    """
    blocks: list[str] = []
    paragraph: list[str] = []
    table: list[str] = []

    def flush() -> None:
        if paragraph:
            blocks.append(f"<p>{render_inline(' '.join(paragraph))}</p>")
            paragraph.clear()
        if table:
            body = "\n".join(table_to_html_rows(table))
            blocks.append(f"<table>\n{body}\n</table>")
            table.clear()

    for line in text.splitlines():
        if line.lstrip().startswith("|"):
            if paragraph:
                flush()
            table.append(line)
            continue
        if table:
            flush()
        heading = render_heading(line)
        if heading is not None:
            flush()
            blocks.append(heading)
        elif not line.strip():
            flush()
        else:
            paragraph.append(line.strip())
    flush()
    return "\n".join(blocks)
